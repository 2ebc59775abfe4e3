package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"
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

// FollowPrefix keeps a view of the keys under prefix current for a reader
// that would otherwise list them on every tick: it loads them, hands the
// view to update, then applies each change the store's watch reports and
// hands the view again, until ctx ends. When the load or the watch fails
// (the store is away, the revision was compacted) it logs why and starts
// over after retry; update keeps what it had meanwhile. The view changes
// after update returns, so update copies what it keeps.
func FollowPrefix(ctx context.Context, store Store, prefix string, retry time.Duration, logger *slog.Logger, update func(*View)) {
	for {
		err := followOnce(ctx, store, prefix, update)
		if ctx.Err() != nil {
			return
		}
		logger.Warn("following the store again after a pause", "prefix", prefix, "err", err, "retry", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

func followOnce(ctx context.Context, store Store, prefix string, update func(*View)) error {
	view, err := LoadPrefix(ctx, store, prefix)
	if err != nil {
		return err
	}
	update(&view)
	for resp := range store.Watch(ctx, prefix, view.Revision+1) {
		if resp.Err != nil {
			return resp.Err
		}
		for _, ev := range resp.Events {
			view.Apply(ev)
		}
		update(&view)
	}
	return errors.New("the watch ended")
}
