package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdStore is the Store on an etcd cluster, the embedded one by default.
// The etcd revision is the log's sequence number as it is, so `etcdctl watch
// --rev` reads the same log sluice does.
type EtcdStore struct {
	cli *clientv3.Client
	// watches ends every watch the store started, on Close.
	watches context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
}

var _ Store = (*EtcdStore)(nil)

// NewEtcdStore wraps a connected client. The caller keeps ownership of cli
// and closes it after the store's Close.
func NewEtcdStore(cli *clientv3.Client) *EtcdStore {
	watches, stop := context.WithCancel(context.Background())
	return &EtcdStore{cli: cli, watches: watches, stop: stop}
}

// Get returns the key, whether it exists, and the revision it was read at.
func (s *EtcdStore) Get(ctx context.Context, key string) (KeyValue, bool, int64, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return KeyValue{}, false, 0, fmt.Errorf("etcd get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return KeyValue{}, false, resp.Header.Revision, nil
	}
	return fromEtcdKV(resp.Kvs[0]), true, resp.Header.Revision, nil
}

// GetAt reads key at revision rev.
func (s *EtcdStore) GetAt(ctx context.Context, key string, rev int64) (KeyValue, bool, error) {
	resp, err := s.cli.Get(ctx, key, clientv3.WithRev(rev))
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return KeyValue{}, false, fmt.Errorf("etcd get %s at %d: %w", key, rev, s.compactedError(ctx))
	case err != nil:
		return KeyValue{}, false, fmt.Errorf("etcd get %s at %d: %w", key, rev, err)
	case len(resp.Kvs) == 0:
		return KeyValue{}, false, nil
	}
	return fromEtcdKV(resp.Kvs[0]), true, nil
}

// List returns every key under the prefixes, sorted by key, at one
// revision: several prefixes are read in one read-only transaction.
func (s *EtcdStore) List(ctx context.Context, prefixes ...string) ([]KeyValue, int64, error) {
	gets := make([]clientv3.Op, len(prefixes))
	for i, prefix := range prefixes {
		gets[i] = clientv3.OpGet(prefix, clientv3.WithPrefix())
	}
	resp, err := s.cli.Txn(ctx).Then(gets...).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("etcd list %v: %w", prefixes, err)
	}
	var kvs []KeyValue
	for _, r := range resp.Responses {
		for _, kv := range r.GetResponseRange().Kvs {
			kvs = append(kvs, fromEtcdKV(kv))
		}
	}
	return sortByKey(kvs), resp.Header.Revision, nil
}

func fromEtcdKV(kv *mvccpb.KeyValue) KeyValue {
	return KeyValue{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision, Lease: kv.Lease}
}

// Txn applies ops in one etcd transaction, which gives them one revision.
func (s *EtcdStore) Txn(ctx context.Context, ops ...Op) (int64, error) {
	etcdOps := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		switch {
		case op.Delete:
			etcdOps[i] = clientv3.OpDelete(op.Key)
		case op.Lease != 0:
			etcdOps[i] = clientv3.OpPut(op.Key, string(op.Value), clientv3.WithLease(clientv3.LeaseID(op.Lease)))
		default:
			etcdOps[i] = clientv3.OpPut(op.Key, string(op.Value))
		}
	}
	resp, err := s.cli.Txn(ctx).Then(etcdOps...).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd txn of %d ops: %w", len(ops), mapEtcdError(err))
	}
	return resp.Header.Revision, nil
}

// PutIf puts value at key in a transaction that compares the key's mod
// revision, which etcd holds at 0 for an absent key.
func (s *EtcdStore) PutIf(ctx context.Context, key string, value []byte, modRevision int64) (bool, int64, error) {
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", modRevision)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return false, 0, fmt.Errorf("etcd put %s if at revision %d: %w", key, modRevision, err)
	}
	return resp.Succeeded, resp.Header.Revision, nil
}

// Watch streams events under prefix from fromRev on. For fromRev 0 it reads
// the current revision before it returns and watches from the one after, so
// a write that follows the call is always seen, however long etcd takes to
// set the watch up.
func (s *EtcdStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse {
	start, err := s.watchStart(ctx, fromRev)
	out := make(chan WatchResponse)
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer close(out)
		ctx, cancel := mergeCancel(ctx, s.watches)
		defer cancel()
		if err == nil {
			err = s.watch(ctx, prefix, start, out)
		}
		if err = ignoreCanceled(ctx, err); err != nil {
			select {
			case out <- WatchResponse{Err: fmt.Errorf("etcd watch %s from revision %d: %w", prefix, fromRev, err)}:
			case <-ctx.Done():
			}
		}
	}()
	return out
}

func (s *EtcdStore) watchStart(ctx context.Context, fromRev int64) (int64, error) {
	if fromRev < 0 {
		return 0, fmt.Errorf("the revision must be 0 (now) or more")
	}
	if fromRev > 0 {
		return fromRev, nil
	}
	resp, err := s.cli.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read the current revision: %w", err)
	}
	return resp.Header.Revision + 1, nil
}

// watch forwards etcd's responses until ctx ends or the watch fails.
func (s *EtcdStore) watch(ctx context.Context, prefix string, fromRev int64, out chan<- WatchResponse) error {
	// etcd's client closes its channel only when the watch's context ends,
	// so the context carries the leader requirement that makes a
	// partitioned member report an error instead of falling silent.
	watchCtx := clientv3.WithRequireLeader(ctx)
	for resp := range s.cli.Watch(watchCtx, prefix, clientv3.WithPrefix(), clientv3.WithRev(fromRev)) {
		if resp.CompactRevision != 0 {
			return &CompactedError{CompactRevision: resp.CompactRevision}
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if len(resp.Events) == 0 && !resp.IsProgressNotify() {
			continue
		}
		select {
		case out <- WatchResponse{Events: fromEtcdEvents(resp.Events), Revision: resp.Header.Revision}:
		case <-ctx.Done():
			return nil
		}
	}
	return ctx.Err()
}

// RequestProgress asks etcd for a progress report on every watch of the
// store. The watches' context carries the leader requirement, which keys
// the stream they share; the request must carry it too to reach them.
func (s *EtcdStore) RequestProgress(ctx context.Context) error {
	if err := s.cli.RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		return fmt.Errorf("etcd request watch progress: %w", err)
	}
	return nil
}

// ignoreCanceled drops the error a watch ends with when its own context
// ended it: the caller asked for that, and reads the closed channel.
func ignoreCanceled(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func fromEtcdEvents(events []*clientv3.Event) []Event {
	out := make([]Event, len(events))
	for i, ev := range events {
		out[i] = Event{Revision: ev.Kv.ModRevision, Key: string(ev.Kv.Key)}
		if ev.Type == mvccpb.DELETE {
			out[i].Deleted = true
		} else {
			out[i].Value = ev.Kv.Value
		}
	}
	return out
}

// mergeCancel returns a context that ends with either parent.
func mergeCancel(ctx, other context.Context) (context.Context, context.CancelFunc) {
	merged, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return merged, func() {
		stop()
		cancel()
	}
}

// Compact drops the history before rev.
func (s *EtcdStore) Compact(ctx context.Context, rev int64) error {
	_, err := s.cli.Compact(ctx, rev)
	if errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("etcd compact to %d: %w", rev, s.compactedError(ctx))
	}
	if err != nil {
		return fmt.Errorf("etcd compact to %d: %w", rev, err)
	}
	return nil
}

// compactedError learns where history starts, which etcd's Compact does not
// say, from a watch at revision 1 that etcd refuses with the answer.
func (s *EtcdStore) compactedError(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for resp := range s.cli.Watch(ctx, "\x00", clientv3.WithRev(1)) {
		if resp.CompactRevision != 0 {
			return &CompactedError{CompactRevision: resp.CompactRevision}
		}
	}
	return ErrCompacted
}

// Grant creates a lease of ttlSeconds. etcd raises a ttl below its minimum
// (about 2 s with the default election timeout) to that minimum.
func (s *EtcdStore) Grant(ctx context.Context, ttlSeconds int64) (int64, error) {
	if ttlSeconds <= 0 {
		return 0, fmt.Errorf("grant lease: ttl must be at least 1 second, got %d", ttlSeconds)
	}
	resp, err := s.cli.Grant(ctx, ttlSeconds)
	if err != nil {
		return 0, fmt.Errorf("etcd grant lease of %ds: %w", ttlSeconds, err)
	}
	return int64(resp.ID), nil
}

// KeepAlive renews the lease once.
func (s *EtcdStore) KeepAlive(ctx context.Context, lease int64) error {
	if _, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(lease)); err != nil {
		return fmt.Errorf("etcd keep lease %d alive: %w", lease, mapEtcdError(err))
	}
	return nil
}

// Revoke ends the lease, deleting its keys at one revision.
func (s *EtcdStore) Revoke(ctx context.Context, lease int64) error {
	if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(lease)); err != nil {
		return fmt.Errorf("etcd revoke lease %d: %w", lease, mapEtcdError(err))
	}
	return nil
}

// Close ends the store's watches and waits for them; the client stays open
// for its owner to close.
func (s *EtcdStore) Close() error {
	s.stop()
	s.running.Wait()
	return nil
}

// mapEtcdError lets callers test etcd's errors against this package's.
func mapEtcdError(err error) error {
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("%w: %w", ErrLeaseNotFound, err)
	}
	return err
}
