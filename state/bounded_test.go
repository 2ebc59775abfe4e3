package state_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// hangingStore answers no call until its context ends, as a store behind a
// partition does, and records whether each call had a deadline.
type hangingStore struct {
	deadlines map[string]time.Time
}

func (s *hangingStore) wait(ctx context.Context, call string) error {
	deadline, _ := ctx.Deadline()
	s.deadlines[call] = deadline
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangingStore) Get(ctx context.Context, key string) (state.KeyValue, bool, int64, error) {
	return state.KeyValue{}, false, 0, s.wait(ctx, "Get")
}

func (s *hangingStore) List(ctx context.Context, prefixes ...string) ([]state.KeyValue, int64, error) {
	return nil, 0, s.wait(ctx, "List")
}

func (s *hangingStore) Txn(ctx context.Context, ops ...state.Op) (int64, error) {
	return 0, s.wait(ctx, "Txn")
}

func (s *hangingStore) PutIf(ctx context.Context, key string, value []byte, modRevision int64) (bool, int64, error) {
	return false, 0, s.wait(ctx, "PutIf")
}

func (s *hangingStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan state.WatchResponse {
	deadline, _ := ctx.Deadline()
	s.deadlines["Watch"] = deadline
	return nil
}

func (s *hangingStore) Compact(ctx context.Context, rev int64) error { return s.wait(ctx, "Compact") }

func (s *hangingStore) RequestProgress(ctx context.Context) error {
	return s.wait(ctx, "RequestProgress")
}

func (s *hangingStore) Grant(ctx context.Context, ttlSeconds int64) (int64, error) {
	return 0, s.wait(ctx, "Grant")
}

func (s *hangingStore) KeepAlive(ctx context.Context, lease int64) error {
	return s.wait(ctx, "KeepAlive")
}

func (s *hangingStore) Revoke(ctx context.Context, lease int64) error { return s.wait(ctx, "Revoke") }

func (s *hangingStore) GetAt(ctx context.Context, key string, rev int64) (state.KeyValue, bool, error) {
	return state.KeyValue{}, false, s.wait(ctx, "GetAt")
}

func (s *hangingStore) Close() error { return nil }

func callEveryMethod(ctx context.Context, store state.Store) map[string]error {
	errs := map[string]error{}
	_, _, _, errs["Get"] = store.Get(ctx, "/k")
	_, _, errs["GetAt"] = store.GetAt(ctx, "/k", 1)
	_, _, errs["List"] = store.List(ctx, "/")
	_, errs["Txn"] = store.Txn(ctx, state.Put("/k", nil))
	_, _, errs["PutIf"] = store.PutIf(ctx, "/k", nil, 0)
	errs["Compact"] = store.Compact(ctx, 1)
	errs["RequestProgress"] = store.RequestProgress(ctx)
	_, errs["Grant"] = store.Grant(ctx, 1)
	errs["KeepAlive"] = store.KeepAlive(ctx, 1)
	errs["Revoke"] = store.Revoke(ctx, 1)
	store.Watch(ctx, "/", 0)
	return errs
}

func TestBoundedGivesEveryCallButWatchADeadline(t *testing.T) {
	hanging := &hangingStore{deadlines: map[string]time.Time{}}
	const timeout = 20 * time.Millisecond
	before := time.Now()
	errs := callEveryMethod(context.Background(), state.Bounded(hanging, timeout))
	for call, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a hanging store: %v, want a deadline exceeded", call, err)
		}
		if deadline := hanging.deadlines[call]; deadline.Before(before) || deadline.After(time.Now()) {
			t.Errorf("%s ran with deadline %v, want one within the test", call, deadline)
		}
	}
	if deadline := hanging.deadlines["Watch"]; !deadline.IsZero() {
		t.Errorf("Watch got deadline %v, want none: a watch is meant to last", deadline)
	}
}

func TestBoundedKeepsTheCallersDeadline(t *testing.T) {
	hanging := &hangingStore{deadlines: map[string]time.Time{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	want, _ := ctx.Deadline()
	callEveryMethod(ctx, state.Bounded(hanging, time.Hour))
	for call, deadline := range hanging.deadlines {
		if !deadline.Equal(want) {
			t.Errorf("%s ran with deadline %v, want the caller's %v", call, deadline, want)
		}
	}
}
