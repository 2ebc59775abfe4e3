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
	kvs, rev, err := store.List(ctx, Root)
	if err != nil {
		return View{}, fmt.Errorf("list %s: %w", Root, err)
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
