package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// FollowedPrefixes are the prefixes a node's view is made of: the node's
// own scope and the cluster keys.
func FollowedPrefixes(node string) []string {
	return append([]string{NodeScope(node)}, ClusterPrefixes...)
}

// LoadView lists the keys of node's view at one revision and folds them. A
// reader that wants to follow the log then watches from View.Revision+1
// (Follower does).
func LoadView(ctx context.Context, store Store, node string) (View, error) {
	kvs, rev, err := store.List(ctx, FollowedPrefixes(node)...)
	if err != nil {
		return View{}, fmt.Errorf("list the view of node %s: %w", node, err)
	}
	view := foldListing(node, kvs)
	view.Revision = rev
	if err := restoreRejectedSpecs(ctx, store, &view); err != nil {
		return View{}, fmt.Errorf("list the view of node %s: %w", node, err)
	}
	return view, nil
}

// restoreRejectedSpecs gives each app whose spec key holds a rejected
// value the good spec it last ran, as a view that followed the log holds
// it: a listing has only the key's latest value. The app's status says
// which revision that was (AppStatus.SpecRevision), and the log holds the
// value, unless compaction dropped it; then the app has no spec, and the
// reconciler holds its containers as they are. An app that was stopped
// since gets nothing back.
func restoreRejectedSpecs(ctx context.Context, store Store, view *View) error {
	for _, name := range SortedKeys(view.Rejections) {
		key := view.Rejections[name].Key
		status, ok := view.Statuses[name]
		ran := ok && status.SpecRevision > 0 && status.Phase != Terminating && status.Phase != Terminated
		if !ran || view.AppRevisions[name] == status.SpecRevision {
			continue
		}
		kv, found, err := store.GetAt(ctx, key, status.SpecRevision)
		var compacted *CompactedError
		switch {
		case errors.As(err, &compacted):
			continue
		case err != nil:
			return fmt.Errorf("read the last good spec of app %s: %w", name, err)
		}
		if found && kv.ModRevision == status.SpecRevision {
			view.restoreApp(ParseKey(key), Event{Revision: kv.ModRevision, Key: key, Value: kv.Value})
		}
	}
	return nil
}

// foldListing folds a listing, which comes in key order, in revision order
// as the fold expects, but for the node's own registration, which goes
// first: the capacity it holds is what the node's specs are checked
// against, and a registration renewed after a spec was put must not let a
// listing accept a spec that the fold of the log rejected.
func foldListing(node string, kvs []KeyValue) View {
	registration := Keys.Node(node)
	sort.SliceStable(kvs, func(i, j int) bool {
		if first, other := kvs[i].Key == registration, kvs[j].Key == registration; first != other {
			return first
		}
		return kvs[i].ModRevision < kvs[j].ModRevision
	})
	view := NewView(node)
	for _, kv := range kvs {
		view.Apply(Event{Revision: kv.ModRevision, Key: kv.Key, Value: kv.Value})
	}
	return view
}

// ClusterView is every node's view at one revision, for readers that show
// the whole cluster (the command line). An agent never needs it: it
// follows its own node (Follower).
type ClusterView struct {
	Revision int64
	// Views holds one view per node that is registered or has keys.
	Views map[string]*View
	// Unscoped is the view of the cluster keys alone: the registrations,
	// unpinned apps, policies, and the errors of those keys.
	Unscoped *View
}

// LoadCluster lists the whole key space at one revision and folds a view
// per node.
func LoadCluster(ctx context.Context, store Store) (ClusterView, error) {
	kvs, rev, err := store.List(ctx, Root)
	if err != nil {
		return ClusterView{}, fmt.Errorf("list %s: %w", Root, err)
	}
	// Each node folds the cluster keys and its own: split the listing once,
	// not once per node.
	var clusterKVs []KeyValue
	scoped := map[string][]KeyValue{}
	for _, kv := range kvs {
		switch ref := ParseKey(kv.Key); {
		case ref.Kind == KindNode:
			clusterKVs = append(clusterKVs, kv)
			if _, known := scoped[ref.Node]; !known {
				scoped[ref.Node] = nil // a registered node has a view, keys or not
			}
		case ref.Node == "":
			clusterKVs = append(clusterKVs, kv)
		default:
			scoped[ref.Node] = append(scoped[ref.Node], kv)
		}
	}
	cluster := ClusterView{Revision: rev, Views: map[string]*View{}}
	for _, node := range SortedKeys(scoped) {
		view := foldListing(node, append(slices.Clone(clusterKVs), scoped[node]...))
		view.Revision = rev
		cluster.Views[node] = &view
	}
	unscoped := foldListing("", clusterKVs)
	unscoped.Revision = rev
	cluster.Unscoped = &unscoped
	return cluster, nil
}

// Nodes returns the names of the nodes in the cluster view, sorted.
func (c ClusterView) Nodes() []string { return SortedKeys(c.Views) }
