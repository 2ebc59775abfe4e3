package state

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestLoadPrefixReadsOnlyItsKeys(t *testing.T) {
	ctx := context.Background()
	store := NewMemoryStore()
	app := `{"name":"web","containers":[{"name":"x","image":"i","class":"best-effort"}]}`
	if _, err := store.Txn(ctx, Put(Keys.App("web"), []byte(app)), Put(Keys.Observation("n1"), []byte(`{"node":"n1"}`))); err != nil {
		t.Fatal(err)
	}
	view, err := LoadPrefix(ctx, store, AppsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := view.Apps["web"]; !ok || len(view.Observations) != 0 || view.Revision != 2 {
		t.Fatalf("LoadPrefix(apps) = apps %v, observations %v, revision %d", view.Apps, view.Observations, view.Revision)
	}
	full, err := LoadView(ctx, store)
	if err != nil || len(full.Observations) != 1 {
		t.Fatalf("LoadView = %+v, %v", full.Observations, err)
	}
}

// FollowPrefix hands over the keys present when it starts, then each
// change under its prefix, and nothing from elsewhere.
func TestFollowPrefixFollowsItsKeys(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := NewMemoryStore()
	app := func(name string) []byte {
		return []byte(`{"name":"` + name + `","containers":[{"name":"x","image":"i","class":"best-effort"}]}`)
	}
	if _, err := store.Txn(ctx, Put(Keys.App("web"), app("web"))); err != nil {
		t.Fatal(err)
	}
	views := make(chan []string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		FollowPrefix(ctx, store, AppsPrefix, time.Millisecond, slog.New(slog.DiscardHandler), func(v *View) {
			views <- SortedKeys(v.Apps)
		})
	}()
	expect := func(want ...string) {
		t.Helper()
		select {
		case got := <-views:
			if !slices.Equal(got, want) {
				t.Fatalf("apps %v, want %v", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no view after 5 s, want apps %v", want)
		}
	}
	expect("web")
	if _, err := store.Txn(ctx, Put(Keys.Observation("n1"), []byte(`{"node":"n1"}`))); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Txn(ctx, Put(Keys.App("db"), app("db"))); err != nil {
		t.Fatal(err)
	}
	expect("db", "web") // the observation did not count
	if _, err := store.Txn(ctx, Delete(Keys.App("web"))); err != nil {
		t.Fatal(err)
	}
	expect("db")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("FollowPrefix did not return when its context ended")
	}
}
