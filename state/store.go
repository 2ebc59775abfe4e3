package state

import (
	"context"
	"errors"
	"fmt"
)

// KeyValue is one key at one revision.
type KeyValue struct {
	Key   string
	Value []byte
	// ModRevision is the revision of the last write to the key.
	ModRevision int64
	// Lease is the lease the key is attached to, 0 for none.
	Lease int64
}

// Event is one write to the store: a put (Value set) or a delete.
type Event struct {
	Revision int64  `json:"revision"`
	Key      string `json:"key"`
	Value    []byte `json:"value,omitempty"`
	Deleted  bool   `json:"deleted,omitempty"`
}

// Kind reports what the event's key holds.
func (e Event) Kind() Kind {
	return ParseKey(e.Key).Kind
}

// Op is one write inside a Txn.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
	// Lease attaches the key to a lease (puts only); 0 for none.
	Lease int64
}

// Put and Delete build Ops.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Delete builds a delete Op.
func Delete(key string) Op { return Op{Key: key, Delete: true} }

// WatchResponse carries the events of one revision or more, in revision
// order, or the error that ended the watch (the channel closes after it).
type WatchResponse struct {
	Events []Event
	// Revision is the store's revision as of the response: every event of
	// the watch's prefix up to it has been delivered. A response with no
	// events and a Revision is a progress report (see RequestProgress).
	Revision int64
	Err      error
}

// ErrCompacted is returned (wrapped in a *CompactedError) when a watch or
// read asks for history that compaction has removed.
var ErrCompacted = errors.New("required revision has been compacted")

// CompactedError says which revision history now starts at.
type CompactedError struct{ CompactRevision int64 }

func (e *CompactedError) Error() string {
	return fmt.Sprintf("%v (history starts after revision %d)", ErrCompacted, e.CompactRevision)
}

// Unwrap lets errors.Is(err, ErrCompacted) match.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

// Store is the event log. Both implementations share one conformance suite:
// every successful write advances the revision by exactly one, a Txn's
// writes share one revision, and a watch from revision R delivers every
// event with revision ≥ R in order, then follows live writes.
type Store interface {
	// Get returns the key, whether it exists, and the store's revision.
	Get(ctx context.Context, key string) (kv KeyValue, found bool, rev int64, err error)
	// GetAt returns the key as it was at revision rev, and whether it
	// existed then: one point read, however old rev is, or a
	// *CompactedError once rev's history is gone.
	GetAt(ctx context.Context, key string, rev int64) (kv KeyValue, found bool, err error)
	// List returns every key under the prefixes, sorted by key, all read
	// at one revision, and that revision.
	List(ctx context.Context, prefixes ...string) (kvs []KeyValue, rev int64, err error)
	// Txn applies the ops atomically and returns the new revision.
	Txn(ctx context.Context, ops ...Op) (rev int64, err error)
	// PutIf puts value at key only if the key's mod revision is modRevision
	// (0: only if the key does not exist), in one transaction, and reports
	// whether it did; either way it returns the store's revision after the
	// call. Of two writers racing on one revision of a key, exactly one
	// succeeds.
	PutIf(ctx context.Context, key string, value []byte, modRevision int64) (put bool, rev int64, err error)
	// Watch streams events under prefix from fromRev on (0: from now). The
	// channel closes when ctx ends or after a response with Err set.
	Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse
	// Compact drops the history before rev.
	Compact(ctx context.Context, rev int64) error
	// RequestProgress asks every open watch of the store to report the
	// revision it has delivered everything up to, with a response that
	// carries no events. A reader of several watches learns from it when
	// their union is complete up to a revision.
	RequestProgress(ctx context.Context) error
	// Grant creates a lease that expires after ttlSeconds without KeepAlive.
	Grant(ctx context.Context, ttlSeconds int64) (lease int64, err error)
	// KeepAlive renews a lease once.
	KeepAlive(ctx context.Context, lease int64) error
	// Revoke ends a lease now, deleting its keys.
	Revoke(ctx context.Context, lease int64) error
	Close() error
}
