package state_test

import (
	"context"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// Every write of an app's status is one transition; a value that is not a
// status with a transition is skipped.
func TestAppTransitionsReadsTheStatusHistory(t *testing.T) {
	store := state.NewMemoryStore()
	ctx := context.Background()
	key := state.Keys.Status("n1", "web")
	var rev int64
	for _, value := range []string{
		`{"app":"web","phase":"pending","transition":{"from":"","to":"pending","event":"applied"}}`,
		`not json`,
		`{"app":"web","phase":"ready","transition":{"from":"pending","to":"ready","event":"started","reason":"all running"}}`,
	} {
		var err error
		if rev, err = store.Txn(ctx, state.Put(key, []byte(value))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := state.AppTransitions(ctx, store, "n1", "web", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].To != state.Ready || got[1].Reason != "all running" {
		t.Fatalf("transitions %+v, want pending then ready", got)
	}
	if none, err := state.AppTransitions(ctx, store, "", "web", rev); err != nil || len(none) != 0 {
		t.Fatalf("an app no node took up has transitions %v (%v)", none, err)
	}
}
