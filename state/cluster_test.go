package state_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func TestEnsureClusterIDWritesOnceAndKeepsIt(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := state.EnsureClusterID(ctx, store, now)
	if err != nil {
		t.Fatal(err)
	}
	second, err := state.EnsureClusterID(ctx, store, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if first == "" || first != second {
		t.Fatalf("EnsureClusterID returned %q then %q, want one identity kept", first, second)
	}
	other, err := state.EnsureClusterID(ctx, state.NewMemoryStore(), now)
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Fatalf("two fresh stores share the identity %q", first)
	}
	view, err := state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := view.ClusterID(); err != nil || got != first {
		t.Fatalf("the view's ClusterID = %q, %v; want %q", got, err, first)
	}
}

func TestClusterIDRejectsABadValue(t *testing.T) {
	empty := state.NewView("n1")
	if _, err := empty.ClusterID(); err == nil {
		t.Fatal("ClusterID of a store without one: no error")
	}
	view := state.Fold("n1", state.Event{Revision: 2, Key: state.ClusterIDKey, Value: []byte(`{"id":"not-a-uuid","created":"2026-01-01T00:00:00Z"}`)})
	if _, err := view.ClusterID(); err == nil || !strings.Contains(err.Error(), state.ClusterIDKey) {
		t.Fatalf("ClusterID of a malformed id: %v, want an error naming %s", err, state.ClusterIDKey)
	}
}

// The claim is in the node's scope: its own view holds it, another node's
// does not, and one that names another node claims nothing.
func TestViewHoldsItsNodesClaim(t *testing.T) {
	claim := state.NodeClaim{Node: "n1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "new data dir"}
	store := state.NewMemoryStore()
	ctx := context.Background()
	if _, err := state.PutClaim(ctx, store, claim); err != nil {
		t.Fatal(err)
	}
	for node, want := range map[string]bool{"n1": true, "n2": false} {
		view, err := state.LoadView(ctx, store, node)
		if err != nil {
			t.Fatal(err)
		}
		if got := view.Claim != nil; got != want || (got && *view.Claim != claim) {
			t.Errorf("view of %s: claim %+v, want claimed %v", node, view.Claim, want)
		}
	}
	key := state.Keys.Claim("n1")
	view := state.Fold("n1",
		state.Event{Revision: 2, Key: key, Value: []byte(`{"node":"n1","time":"2026-01-01T00:00:00Z"}`)},
		state.Event{Revision: 3, Key: key, Value: []byte(`{"node":"n2","time":"2026-01-01T00:00:00Z"}`)},
	)
	if view.Claim != nil || !strings.Contains(view.Errors[key], `names node "n2"`) {
		t.Fatalf("a claim naming another node: claim %+v, errors %v; want no claim and the error", view.Claim, view.Errors)
	}
	view.Apply(state.Event{Revision: 4, Key: key, Value: []byte(`{"node":"n1","time":"2026-01-01T00:00:00Z"}`)})
	shared := view.Share()
	view.Apply(state.Event{Revision: 5, Key: key, Deleted: true})
	if view.Claim != nil || shared.Claim == nil || len(view.Errors) != 0 {
		t.Fatalf("after the delete: claim %+v (the shared view's %+v), errors %v", view.Claim, shared.Claim, view.Errors)
	}
}
