package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrLeaseNotFound is returned for a lease that was never granted, was
// revoked, or expired.
var ErrLeaseNotFound = errors.New("lease not found")

// ErrStoreClosed is returned by every call on a MemoryStore after Close, and
// ends its open watches.
var ErrStoreClosed = errors.New("store closed")

// MemoryStore is a Store held in memory with etcd's revision semantics, for
// the simulator and for tests. It keeps its whole history until Compact.
//
// It has no clock: leases expire only when the owner calls ExpireLeases with
// the time it goes by (virtual time in the simulator).
//
// Each watch gets its own unbounded queue, so a writer never waits for a
// reader and a slow reader loses nothing; the price is memory that grows
// with a reader's backlog. Every reader in sluice drains its watch in a loop,
// and the simulator bounds the run, so the backlog stays small.
type MemoryStore struct {
	mu       sync.Mutex
	closed   bool
	rev      int64
	compact  int64
	kvs      map[string]KeyValue
	history  []Event
	watchers map[*memWatcher]struct{}
	leases   map[int64]*memLease
	// lastLease numbers leases from 1, in grant order, so a simulated run
	// hands out the same IDs every time.
	lastLease int64
	// now is the latest time ExpireLeases was told; clockKnown is false
	// until the first call.
	now        time.Time
	clockKnown bool
}

type memLease struct {
	ttl      time.Duration
	deadline time.Time
	keys     map[string]struct{}
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store at revision 1, as a fresh etcd is.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		rev:      1,
		kvs:      map[string]KeyValue{},
		watchers: map[*memWatcher]struct{}{},
		leases:   map[int64]*memLease{},
	}
}

// GetAt reads key at revision rev from the history. The store keeps no
// value from before a compaction, so a key whose last change at or before
// rev was compacted away reads as compacted when it changed after rev
// (etcd would still know it), and as its current value otherwise. The
// history keeps no leases: a value read from it has Lease 0.
func (s *MemoryStore) GetAt(ctx context.Context, key string, rev int64) (KeyValue, bool, error) {
	if err := ctx.Err(); err != nil {
		return KeyValue{}, false, fmt.Errorf("get %s at %d: %w", key, rev, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return KeyValue{}, false, fmt.Errorf("get %s at %d: %w", key, rev, ErrStoreClosed)
	case rev > s.rev:
		return KeyValue{}, false, fmt.Errorf("get %s at %d: beyond the current revision %d", key, rev, s.rev)
	case rev < s.compact:
		return KeyValue{}, false, fmt.Errorf("get %s at %d: %w", key, rev, &CompactedError{CompactRevision: s.compact})
	}
	changedLater := false
	for i := len(s.history) - 1; i >= 0; i-- {
		ev := s.history[i]
		switch {
		case ev.Key != key:
		case ev.Revision > rev:
			changedLater = true
		case ev.Deleted:
			return KeyValue{}, false, nil
		default:
			return KeyValue{Key: key, Value: ev.Value, ModRevision: ev.Revision}, true, nil
		}
	}
	if changedLater {
		if s.compact == 0 {
			return KeyValue{}, false, nil // the whole history is kept: it did not exist yet
		}
		return KeyValue{}, false, fmt.Errorf("get %s at %d: %w", key, rev, &CompactedError{CompactRevision: s.compact})
	}
	kv, found := s.kvs[key]
	return kv, found, nil
}

// Get returns the key, whether it exists, and the current revision.
func (s *MemoryStore) Get(ctx context.Context, key string) (KeyValue, bool, int64, error) {
	if err := ctx.Err(); err != nil {
		return KeyValue{}, false, 0, fmt.Errorf("get %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return KeyValue{}, false, 0, fmt.Errorf("get %s: %w", key, ErrStoreClosed)
	}
	kv, found := s.kvs[key]
	return copyKeyValue(kv), found, s.rev, nil
}

// List returns every key under the prefixes, sorted, at the current
// revision.
func (s *MemoryStore) List(ctx context.Context, prefixes ...string) ([]KeyValue, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("list %v: %w", prefixes, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, fmt.Errorf("list %v: %w", prefixes, ErrStoreClosed)
	}
	var kvs []KeyValue
	for key, kv := range s.kvs {
		if hasAnyPrefix(key, prefixes) {
			kvs = append(kvs, copyKeyValue(kv))
		}
	}
	return sortByKey(kvs), s.rev, nil
}

func hasAnyPrefix(key string, prefixes []string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(key, prefix) {
			return true
		}
	}
	return false
}

// sortByKey sorts a listing by key, as etcd returns one, and drops a key
// that two overlapping prefixes both listed.
func sortByKey(kvs []KeyValue) []KeyValue {
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return slices.CompactFunc(kvs, func(a, b KeyValue) bool { return a.Key == b.Key })
}

// Txn applies ops atomically at one new revision. As in etcd, a Txn that
// changes nothing (no ops, or only deletes of absent keys) leaves the
// revision where it is and returns it; a key may appear only once per Txn,
// and a Txn over etcd's limits (MaxTxnOps, MaxRequestBytes) is refused.
func (s *MemoryStore) Txn(ctx context.Context, ops ...Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("txn: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("txn: %w", ErrStoreClosed)
	}
	if err := s.checkOps(ops); err != nil {
		return 0, fmt.Errorf("txn: %w", err)
	}
	events := make([]Event, 0, len(ops))
	for _, op := range ops {
		if op.Delete {
			if ev, ok := s.deleteKey(op.Key); ok {
				events = append(events, ev)
			}
			continue
		}
		events = append(events, s.putKey(op))
	}
	s.commit(events)
	return s.rev, nil
}

// PutIf puts value at key if the key is at modRevision (absent for 0),
// lock as the check, so that of two racing callers exactly one creates it.
func (s *MemoryStore) PutIf(ctx context.Context, key string, value []byte, modRevision int64) (bool, int64, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, fmt.Errorf("put %s if at revision %d: %w", key, modRevision, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, 0, fmt.Errorf("put %s if at revision %d: %w", key, modRevision, ErrStoreClosed)
	}
	if key == "" {
		return false, 0, fmt.Errorf("put if at revision: empty key")
	}
	if s.kvs[key].ModRevision != modRevision {
		return false, s.rev, nil
	}
	s.commit([]Event{s.putKey(Put(key, value))})
	return true, s.rev, nil
}

// checkOps rejects a Txn before it changes anything, so a bad op leaves the
// store as it was.
func (s *MemoryStore) checkOps(ops []Op) error {
	if err := checkTxnLimits(ops); err != nil {
		return err
	}
	seen := make(map[string]bool, len(ops))
	for i, op := range ops {
		if seen[op.Key] {
			return fmt.Errorf("op %d: key %q appears twice in one txn", i, op.Key)
		}
		seen[op.Key] = true
		if op.Key == "" {
			return fmt.Errorf("op %d: empty key", i)
		}
		if !op.Delete && op.Lease != 0 && s.leases[op.Lease] == nil {
			return fmt.Errorf("op %d: put %s on lease %d: %w", i, op.Key, op.Lease, ErrLeaseNotFound)
		}
	}
	return nil
}

// putKey and deleteKey stage a change at the next revision; commit makes
// the revision current.
func (s *MemoryStore) putKey(op Op) Event {
	next := s.rev + 1
	s.detachLease(op.Key)
	if op.Lease != 0 {
		s.leases[op.Lease].keys[op.Key] = struct{}{}
	}
	value := append([]byte{}, op.Value...)
	s.kvs[op.Key] = KeyValue{Key: op.Key, Value: value, ModRevision: next, Lease: op.Lease}
	return Event{Revision: next, Key: op.Key, Value: value}
}

func (s *MemoryStore) deleteKey(key string) (Event, bool) {
	if _, found := s.kvs[key]; !found {
		return Event{}, false
	}
	s.detachLease(key)
	delete(s.kvs, key)
	return Event{Revision: s.rev + 1, Key: key, Deleted: true}, true
}

func (s *MemoryStore) detachLease(key string) {
	if kv, found := s.kvs[key]; found && kv.Lease != 0 {
		if lease := s.leases[kv.Lease]; lease != nil {
			delete(lease.keys, key)
		}
	}
}

// commit advances the revision if events changed anything, records them and
// queues them for every watcher whose prefix matches.
func (s *MemoryStore) commit(events []Event) {
	if len(events) == 0 {
		return
	}
	s.rev++
	s.history = append(s.history, events...)
	for w := range s.watchers {
		w.enqueue(filterPrefix(events, w.prefix), s.rev, false)
	}
}

func filterPrefix(events []Event, prefix string) []Event {
	var matched []Event
	for _, ev := range events {
		if strings.HasPrefix(ev.Key, prefix) {
			matched = append(matched, ev)
		}
	}
	return matched
}

// Compact drops the history before rev. A watch from below rev then fails
// with a *CompactedError, as does compacting to rev or below again.
func (s *MemoryStore) Compact(ctx context.Context, rev int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("compact to %d: %w", rev, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("compact to %d: %w", rev, ErrStoreClosed)
	}
	if rev > s.rev {
		return fmt.Errorf("compact to %d: beyond the current revision %d", rev, s.rev)
	}
	if rev <= s.compact {
		return fmt.Errorf("compact to %d: %w", rev, &CompactedError{CompactRevision: s.compact})
	}
	s.compact = rev
	keep := sort.Search(len(s.history), func(i int) bool { return s.history[i].Revision >= rev })
	s.history = append([]Event(nil), s.history[keep:]...)
	return nil
}

// Close ends every watch with ErrStoreClosed and refuses later calls.
func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for w := range s.watchers {
		w.fail(ErrStoreClosed)
		delete(s.watchers, w)
	}
	return nil
}

// Revision reports the current revision.
func (s *MemoryStore) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

func copyKeyValue(kv KeyValue) KeyValue {
	if kv.Value != nil {
		kv.Value = append([]byte{}, kv.Value...)
	}
	return kv
}
