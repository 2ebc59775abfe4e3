package state_test

import (
	"context"
	"os"
	"reflect"
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
}

func TestReadClusterIDRejectsABadValue(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	if _, err := state.ReadClusterID(ctx, store); err == nil {
		t.Fatal("ReadClusterID of an empty store: no error")
	}
	if _, err := store.Txn(ctx, state.Put(state.ClusterIDKey, []byte(`{"id":"not-a-uuid","created":"2026-01-01T00:00:00Z"}`))); err != nil {
		t.Fatal(err)
	}
	if _, err := state.ReadClusterID(ctx, store); err == nil {
		t.Fatal("ReadClusterID of a malformed id: no error")
	}
}

// The fold does not know the identity and claim keys; they must pass
// through it without an error or a change to the view.
func TestFoldSkipsTheClusterKeys(t *testing.T) {
	view := state.Fold(
		state.Event{Revision: 2, Key: state.ClusterIDKey, Value: []byte(`{"id":"x"}`)},
		state.Event{Revision: 3, Key: state.ClaimKey("n1"), Value: []byte(`{"node":"n1"}`)},
	)
	if len(view.Errors) != 0 || len(view.Nodes) != 0 || view.Revision != 3 {
		t.Fatalf("fold of the cluster keys: errors %v, nodes %v, revision %d", view.Errors, view.Nodes, view.Revision)
	}
}

func TestReadClaimChecksTheNode(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	if _, found, err := state.ReadClaim(ctx, store, "n1"); err != nil || found {
		t.Fatalf("ReadClaim of an unclaimed node = found %v, err %v", found, err)
	}
	claim := state.NodeClaim{Node: "n1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Reason: "new data dir"}
	if _, err := state.PutClaim(ctx, store, claim); err != nil {
		t.Fatal(err)
	}
	if got, found, err := state.ReadClaim(ctx, store, "n1"); err != nil || !found || got != claim {
		t.Fatalf("ReadClaim after PutClaim = %+v found %v err %v, want %+v", got, found, err, claim)
	}
	if _, err := store.Txn(ctx, state.Put(state.ClaimKey("n1"), []byte(`{"node":"n2","time":"2026-01-01T00:00:00Z"}`))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := state.ReadClaim(ctx, store, "n1"); err == nil {
		t.Fatal("ReadClaim of a claim naming another node: no error")
	}
}

func TestKeyspaceDocDescribesTheClusterKeys(t *testing.T) {
	raw, err := os.ReadFile("../docs/keyspace.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, prefix := range []string{state.ClusterIDKey, state.ClaimsPrefix} {
		if !strings.Contains(doc, "`"+prefix) {
			t.Errorf("docs/keyspace.md does not document %s", prefix)
		}
	}
	for _, value := range []any{state.ClusterID{}, state.NodeClaim{}} {
		typ := reflect.TypeOf(value)
		for i := range typ.NumField() {
			field, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if !strings.Contains(doc, "`"+field+"`") {
				t.Errorf("docs/keyspace.md does not mention %s.%s (JSON %q)", typ.Name(), typ.Field(i).Name, field)
			}
		}
	}
}
