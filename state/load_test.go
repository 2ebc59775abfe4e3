package state_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func appSpec(name, node string) []byte {
	return []byte(`{"name":"` + name + `","node":"` + node + `","containers":[{"name":"x","image":"i","class":"best-effort"}]}`)
}

// twoNodes writes the keys of two nodes and of the cluster at revision 2.
func twoNodes(t *testing.T, store state.Store) int64 {
	t.Helper()
	rev, err := store.Txn(context.Background(),
		state.Put(state.Keys.Node("n1"), []byte(`{"name":"n1"}`)),
		state.Put(state.Keys.Node("n2"), []byte(`{"name":"n2"}`)),
		state.Put(state.Keys.App("", "shared"), appSpec("shared", "")),
		state.Put(state.Keys.App("n1", "web"), appSpec("web", "n1")),
		state.Put(state.Keys.App("n2", "db"), appSpec("db", "n2")),
		state.Put(state.Keys.Observation("n1"), []byte(`{"node":"n1"}`)),
		state.Put(state.Keys.Observation("n2"), []byte(`{"node":"n2"}`)),
		state.Put(state.Keys.Status("n2", "db"), []byte(`{"app":"db","phase":"ready"}`)),
		state.Put(state.Keys.Policy("shield.rego"), []byte("package shield")),
	)
	must(t, err)
	return rev
}

// A node's view holds its own keys and the cluster's, never another node's.
func TestLoadViewReadsItsNodeAndTheCluster(t *testing.T) {
	store := state.NewMemoryStore()
	rev := twoNodes(t, store)
	view, err := state.LoadView(context.Background(), store, "n1")
	must(t, err)
	if view.Node != "n1" || view.Revision != rev {
		t.Fatalf("view of %q at %d, want n1 at %d", view.Node, view.Revision, rev)
	}
	if got := state.SortedKeys(view.Apps); !reflect.DeepEqual(got, []string{"shared", "web"}) {
		t.Fatalf("apps of n1 = %v, want [shared web]: its own and the unpinned one", got)
	}
	if got := state.SortedKeys(view.Observations); !reflect.DeepEqual(got, []string{"n1"}) {
		t.Fatalf("observations of n1's view = %v, want n1's alone", got)
	}
	if len(view.Statuses) != 0 {
		t.Fatalf("n1's view holds n2's statuses %v", view.Statuses)
	}
	if got := state.SortedKeys(view.Nodes); !reflect.DeepEqual(got, []string{"n1", "n2"}) || len(view.Policies) != 1 {
		t.Fatalf("cluster keys of n1's view: nodes %v, policies %v; want both nodes and the policy", got, view.Policies)
	}
	if len(view.Errors) != 0 {
		t.Fatalf("errors %v", view.Errors)
	}
}

// The cluster view folds one view per node, and one of the cluster keys
// alone, at one revision.
func TestLoadClusterHasAViewPerNode(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	twoNodes(t, store)
	// n3 has keys but no registration: it is still a node of the cluster.
	rev, err := store.Txn(ctx, state.Put(state.Keys.Decision("n3"), []byte(`{"node":"n3"}`)))
	must(t, err)
	cluster, err := state.LoadCluster(ctx, store)
	must(t, err)
	if got := cluster.Nodes(); !reflect.DeepEqual(got, []string{"n1", "n2", "n3"}) || cluster.Revision != rev {
		t.Fatalf("cluster of %v at %d, want n1 n2 n3 at %d", got, cluster.Revision, rev)
	}
	for node, wantApps := range map[string][]string{"n1": {"shared", "web"}, "n2": {"db", "shared"}, "n3": {"shared"}} {
		view := cluster.Views[node]
		if got := state.SortedKeys(view.Apps); view.Node != node || view.Revision != rev || !reflect.DeepEqual(got, wantApps) {
			t.Errorf("view of %s: node %q at %d with apps %v; want apps %v at %d", node, view.Node, view.Revision, got, wantApps, rev)
		}
	}
	if _, ok := cluster.Views["n2"].Statuses["db"]; !ok {
		t.Error("n2's view lost its status")
	}
	if _, ok := cluster.Views["n3"].Decisions["n3"]; !ok {
		t.Error("n3's view lost its decision")
	}
	unscoped := cluster.Unscoped
	if got := state.SortedKeys(unscoped.Apps); !reflect.DeepEqual(got, []string{"shared"}) || len(unscoped.Nodes) != 2 ||
		len(unscoped.Observations)+len(unscoped.Decisions)+len(unscoped.Statuses) != 0 || unscoped.Revision != rev {
		t.Fatalf("unscoped view: apps %v, nodes %v, observations %v, decisions %v at %d; want the cluster keys alone at %d",
			got, unscoped.Nodes, unscoped.Observations, unscoped.Decisions, unscoped.Revision, rev)
	}
}
