package state

import (
	"context"
	"time"
)

// DefaultCallTimeout bounds one etcd call whose caller gave no deadline:
// etcdctl's own command timeout, long enough for a healthy cluster under
// load, short enough that an outage shows as an error, not a hang.
const DefaultCallTimeout = 5 * time.Second

// Bounded returns store with a deadline of timeout on every call whose
// context has none, so that an unreachable etcd fails a call instead of
// blocking its caller for good. A caller that set its own deadline keeps
// it. Watch is left alone: it is meant to last, and ends with its context.
func Bounded(store Store, timeout time.Duration) Store {
	return &boundedStore{store: store, timeout: timeout}
}

// boundedStore spells out every method, rather than embed the Store, so
// that a method added to Store must be given its deadline here.
type boundedStore struct {
	store   Store
	timeout time.Duration
}

var _ Store = (*boundedStore)(nil)

func (s *boundedStore) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

func (s *boundedStore) Get(ctx context.Context, key string) (KeyValue, bool, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.Get(ctx, key)
}

func (s *boundedStore) GetAt(ctx context.Context, key string, rev int64) (KeyValue, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.GetAt(ctx, key, rev)
}

func (s *boundedStore) List(ctx context.Context, prefixes ...string) ([]KeyValue, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.List(ctx, prefixes...)
}

func (s *boundedStore) Txn(ctx context.Context, ops ...Op) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.Txn(ctx, ops...)
}

func (s *boundedStore) PutIf(ctx context.Context, key string, value []byte, modRevision int64) (bool, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.PutIf(ctx, key, value, modRevision)
}

func (s *boundedStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse {
	return s.store.Watch(ctx, prefix, fromRev)
}

func (s *boundedStore) RequestProgress(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.RequestProgress(ctx)
}

func (s *boundedStore) Compact(ctx context.Context, rev int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.Compact(ctx, rev)
}

func (s *boundedStore) Grant(ctx context.Context, ttlSeconds int64) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.Grant(ctx, ttlSeconds)
}

func (s *boundedStore) KeepAlive(ctx context.Context, lease int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.KeepAlive(ctx, lease)
}

func (s *boundedStore) Revoke(ctx context.Context, lease int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.store.Revoke(ctx, lease)
}

func (s *boundedStore) Close() error { return s.store.Close() }
