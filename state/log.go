package state

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ReadLog returns the events under prefix with revisions in [from, to], in
// order. It watches the whole key space, not just prefix, because every
// revision up to the current one was made by some write: seeing revision
// ≥ to anywhere proves nothing under prefix is still to come, where a watch
// on prefix alone could not tell "no more events" from "not yet".
// to must not exceed the store's current revision.
func ReadLog(ctx context.Context, store Store, prefix string, from, to int64) ([]Event, error) {
	if from < 1 {
		from = 1
	}
	if to < from {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []Event
	for resp := range store.Watch(ctx, "", from) {
		if resp.Err != nil {
			return nil, fmt.Errorf("read log from revision %d: %w", from, resp.Err)
		}
		for _, ev := range resp.Events {
			if ev.Revision > to {
				return out, nil
			}
			if strings.HasPrefix(ev.Key, prefix) {
				out = append(out, ev)
			}
		}
		// A revision's events arrive in one response, so once the last event
		// of a response reaches to, the range is complete.
		if len(resp.Events) > 0 && resp.Events[len(resp.Events)-1].Revision >= to {
			return out, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read log from revision %d: %w", from, err)
	}
	return out, nil
}

// History is ReadLog from the oldest revision still kept: compacted history
// is skipped, not an error, for readers that show what is left.
func History(ctx context.Context, store Store, prefix string, to int64) ([]Event, error) {
	events, err := ReadLog(ctx, store, prefix, 1, to)
	var compacted *CompactedError
	if errors.As(err, &compacted) {
		return ReadLog(ctx, store, prefix, compacted.CompactRevision, to)
	}
	return events, err
}
