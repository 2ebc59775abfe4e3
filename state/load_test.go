package state

import (
	"context"
	"testing"
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
