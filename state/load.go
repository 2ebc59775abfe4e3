package state

import (
	"context"
	"fmt"
	"sort"
)

// LoadView reads every key under Root and folds it into a View at the
// listing's revision. A reader that wants to follow the log then watches
// from View.Revision+1.
func LoadView(ctx context.Context, store Store) (View, error) {
	return LoadPrefix(ctx, store, Root)
}

// LoadPrefix is LoadView of the keys under prefix alone, for a reader that
// needs one part of the state (the apps) often and the rest never.
func LoadPrefix(ctx context.Context, store Store, prefix string) (View, error) {
	kvs, rev, err := store.List(ctx, prefix)
	if err != nil {
		return View{}, fmt.Errorf("list %s: %w", prefix, err)
	}
	// The fold expects revision order; a listing comes in key order.
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].ModRevision < kvs[j].ModRevision })
	view := NewView()
	for _, kv := range kvs {
		view.Apply(Event{Revision: kv.ModRevision, Key: kv.Key, Value: kv.Value})
	}
	view.Revision = rev
	return view, nil
}
