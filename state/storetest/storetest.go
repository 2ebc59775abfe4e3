// Package storetest is the conformance suite every state.Store must pass. It
// pins down the semantics the rest of sluice relies on — revisions, atomic
// transactions, ordered watches that replay history, compaction and leases —
// so that the in-memory store and the etcd store are interchangeable.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// waitFor bounds every wait on a watch. It is generous because a slow CI
// machine must not turn a correct store into a failing test; a broken store
// fails by its content, not by its speed.
const waitFor = 20 * time.Second

// Run runs the suite. newStore returns a fresh, empty store for each subtest
// (revision 1, no keys) and arranges its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) state.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s state.Store)
	}{
		{"RevisionStartsAtOneAndAdvancesByOnePerTxn", testRevisions},
		{"TxnIsAtomicAtOneRevision", testTxnAtomic},
		{"TxnThatChangesNothingKeepsTheRevision", testTxnNoChange},
		{"RejectedTxnChangesNothing", testTxnRejected},
		{"PutIfAbsentCreatesOnce", testPutIfAbsent},
		{"PutIfComparesTheModRevision", testPutIfRevision},
		{"PutIfHasOneWinner", testPutIfRace},
		{"TxnOverEtcdLimitsIsRejected", testTxnLimits},
		{"GetFoundAndNotFound", testGet},
		{"GetAtReadsThePast", testGetAt},
		{"ValuesAreCopies", testValuesAreCopies},
		{"ListIsSortedAndKeepsToItsPrefix", testList},
		{"ListOfSeveralPrefixesIsOneSortedRead", testListPrefixes},
		{"DeleteIsAnEvent", testDeleteEvent},
		{"WatchReplaysFromAPastRevisionThenFollowsLive", testWatchReplay},
		{"WatchFromZeroStartsAtTheNextWrite", testWatchFromZero},
		{"WatchDeliversManyWritesInOrder", testWatchManyWrites},
		{"WatchKeepsToItsPrefix", testWatchPrefix},
		{"WatchBelowCompactionFails", testWatchCompacted},
		{"CompactRejectsTheFutureAndThePast", testCompactBounds},
		{"LeaseKeysGoWithTheLease", testLeaseRevoke},
		{"UnknownLeaseIsAnError", testUnknownLease},
		{"CancelClosesTheWatch", testWatchCancel},
		{"CanceledContextFailsCalls", testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

func testRevisions(t *testing.T, s state.Store) {
	ctx := context.Background()
	_, found, rev, err := s.Get(ctx, "/a")
	must(t, err)
	if found || rev != 1 {
		t.Fatalf("fresh store: Get(/a) = found %v at revision %d, want absent at 1", found, rev)
	}
	for want := int64(2); want <= 4; want++ {
		rev := put(t, s, "/a", fmt.Sprintf("v%d", want))
		if rev != want {
			t.Fatalf("Txn %d returned revision %d, want %d", want-1, rev, want)
		}
	}
	kv, _, rev, err := s.Get(ctx, "/a")
	must(t, err)
	if rev != 4 || kv.ModRevision != 4 || string(kv.Value) != "v4" {
		t.Fatalf("Get(/a) = %q mod %d at %d, want v4 mod 4 at 4", kv.Value, kv.ModRevision, rev)
	}
	_, rev, err = s.List(ctx, "/")
	must(t, err)
	if rev != 4 {
		t.Fatalf("List revision = %d, want 4", rev)
	}
}

func testTxnAtomic(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/c", "old")
	rev, err := s.Txn(ctx, state.Put("/a", []byte("1")), state.Put("/b", []byte("2")), state.Delete("/c"))
	must(t, err)
	if rev != 3 {
		t.Fatalf("Txn revision = %d, want 3", rev)
	}
	kvs, _, err := s.List(ctx, "/")
	must(t, err)
	if got := describeKVs(kvs); got != "/a=1@3 /b=2@3" {
		t.Fatalf("after Txn: %s, want /a=1@3 /b=2@3", got)
	}
	events := collect(t, s.Watch(watchContext(t), "/", rev), 3)
	if got := describeEvents(events); got != "3:put /a=1 3:put /b=2 3:delete /c" {
		t.Fatalf("Txn events: %s, want the ops in order at revision 3", got)
	}
}

func testTxnNoChange(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/a", "1")
	rev, err := s.Txn(ctx, state.Delete("/absent"))
	must(t, err)
	if rev != 2 {
		t.Fatalf("deleting an absent key returned revision %d, want the current 2", rev)
	}
	rev, err = s.Txn(ctx)
	must(t, err)
	if rev != 2 {
		t.Fatalf("empty Txn returned revision %d, want the current 2", rev)
	}
	if rev := put(t, s, "/a", "2"); rev != 3 {
		t.Fatalf("next write got revision %d, want 3", rev)
	}
}

func testTxnRejected(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/a", "1")
	if _, err := s.Txn(ctx, state.Put("/a", []byte("2")), state.Delete("/a")); err == nil {
		t.Fatal("Txn writing /a twice: no error")
	}
	unknown := state.Op{Key: "/b", Value: []byte("x"), Lease: 424242}
	if _, err := s.Txn(ctx, state.Put("/a", []byte("3")), unknown); err == nil {
		t.Fatal("Txn with a put on an unknown lease: no error")
	}
	kv, _, rev, err := s.Get(ctx, "/a")
	must(t, err)
	if rev != 2 || string(kv.Value) != "1" {
		t.Fatalf("after rejected Txns: /a=%q at revision %d, want 1 at 2", kv.Value, rev)
	}
}

func testPutIfAbsent(t *testing.T, s state.Store) {
	ctx := context.Background()
	created, rev, err := s.PutIf(ctx, "/id", []byte("first"), 0)
	must(t, err)
	if !created || rev != 2 {
		t.Fatalf("PutIf(0) on an absent key = created %v at %d, want created at 2", created, rev)
	}
	created, rev, err = s.PutIf(ctx, "/id", []byte("second"), 0)
	must(t, err)
	if created || rev != 2 {
		t.Fatalf("PutIf(0) on a present key = created %v at %d, want not created, revision kept at 2", created, rev)
	}
	del(t, s, "/id")
	created, rev, err = s.PutIf(ctx, "/id", []byte("third"), 0)
	must(t, err)
	kv, _, _, err := s.Get(ctx, "/id")
	must(t, err)
	if !created || rev != 4 || string(kv.Value) != "third" {
		t.Fatalf("PutIf(0) after a delete = created %v at %d, value %q; want third created at 4", created, rev, kv.Value)
	}
	events := collect(t, s.Watch(watchContext(t), "/", 2), 3)
	if got := describeEvents(events); got != "2:put /id=first 3:delete /id 4:put /id=third" {
		t.Fatalf("PutIf(0) events: %s, want only the creates and the delete", got)
	}
}

func testPutIfRace(t *testing.T, s state.Store) {
	const writers = 8
	results := make(chan bool, writers)
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			created, _, err := s.PutIf(context.Background(), "/id", []byte(fmt.Sprint(i)), 0)
			results <- created
			errs <- err
		}()
	}
	winners := 0
	for range writers {
		must(t, <-errs)
		if <-results {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d of %d racing PutIf(0) calls created the key, want exactly 1", winners, writers)
	}
}

// testPutIfRevision: a put guarded by the key's mod revision goes through
// only while the key is still at that revision.
func testPutIfRevision(t *testing.T, s state.Store) {
	ctx := context.Background()
	first := put(t, s, "/status", "ready")
	put(t, s, "/other", "x")
	ok, rev, err := s.PutIf(ctx, "/status", []byte("lost"), first)
	must(t, err)
	if !ok || rev != first+2 {
		t.Fatalf("PutIf at the key's revision %d = %v at %d, want put at %d", first, ok, rev, first+2)
	}
	ok, rev, err = s.PutIf(ctx, "/status", []byte("stale"), first)
	must(t, err)
	kv, _, _, err := s.Get(ctx, "/status")
	must(t, err)
	if ok || rev != first+2 || string(kv.Value) != "lost" {
		t.Fatalf("PutIf at an old revision = %v at %d, value %q; want refused, lost kept at %d", ok, rev, kv.Value, first+2)
	}
}

// testTxnLimits holds every store to etcd's default limits, so that code
// tested on the memory store does not fail on etcd with more data.
func testTxnLimits(t *testing.T, s state.Store) {
	ctx := context.Background()
	ops := make([]state.Op, state.MaxTxnOps+1)
	for i := range ops {
		ops[i] = state.Put(fmt.Sprintf("/k%03d", i), []byte("v"))
	}
	if _, err := s.Txn(ctx, ops...); err == nil {
		t.Fatalf("Txn of %d ops: no error, want etcd's limit of %d", len(ops), state.MaxTxnOps)
	}
	// Each value fits a request, the two together do not.
	half := make([]byte, state.MaxRequestBytes/2+1)
	if _, err := s.Txn(ctx, state.Put("/a", half), state.Put("/b", half)); err == nil {
		t.Fatalf("Txn of %d bytes: no error, want etcd's limit of %d", 2*len(half), state.MaxRequestBytes)
	}
	_, _, rev, err := s.Get(ctx, "/k000")
	must(t, err)
	if rev != 1 {
		t.Fatalf("revision after rejected Txns = %d, want 1", rev)
	}
	if rev, err := s.Txn(ctx, ops[:state.MaxTxnOps]...); err != nil || rev != 2 {
		t.Fatalf("Txn of %d ops = revision %d, %v; want 2, the limit is allowed", state.MaxTxnOps, rev, err)
	}
}

func testGet(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/k", `{"x":1}`)
	kv, found, rev, err := s.Get(ctx, "/k")
	must(t, err)
	want := state.KeyValue{Key: "/k", Value: []byte(`{"x":1}`), ModRevision: 2}
	if !found || rev != 2 || kv.Key != want.Key || !bytes.Equal(kv.Value, want.Value) ||
		kv.ModRevision != want.ModRevision || kv.Lease != 0 {
		t.Fatalf("Get(/k) = %+v found %v at %d, want %+v at 2", kv, found, rev, want)
	}
	if _, found, _, err := s.Get(ctx, "/k/child"); err != nil || found {
		t.Fatalf("Get(/k/child) found %v err %v: Get must match the exact key", found, err)
	}
	del(t, s, "/k")
	_, found, rev, err = s.Get(ctx, "/k")
	must(t, err)
	if found || rev != 3 {
		t.Fatalf("Get(/k) after delete: found %v at %d, want absent at 3", found, rev)
	}
}

func testGetAt(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/k", "one")   // 2
	put(t, s, "/other", "x") // 3
	put(t, s, "/k", "two")   // 4
	del(t, s, "/k")          // 5
	cases := []struct {
		rev   int64
		found bool
		value string
		mod   int64
	}{{1, false, "", 0}, {2, true, "one", 2}, {3, true, "one", 2}, {4, true, "two", 4}, {5, false, "", 0}}
	for _, c := range cases {
		kv, found, err := s.GetAt(ctx, "/k", c.rev)
		must(t, err)
		if found != c.found || string(kv.Value) != c.value || kv.ModRevision != c.mod {
			t.Errorf("GetAt(/k, %d) = %q (mod %d) found %v, want %q (mod %d) found %v",
				c.rev, kv.Value, kv.ModRevision, found, c.value, c.mod, c.found)
		}
	}
	must(t, s.Compact(ctx, 4))
	var compacted *state.CompactedError
	if _, _, err := s.GetAt(ctx, "/k", 3); !errors.As(err, &compacted) || compacted.CompactRevision != 4 {
		t.Errorf("GetAt below the compaction = %v, want a *state.CompactedError from 4", err)
	}
	if kv, found, err := s.GetAt(ctx, "/k", 4); err != nil || !found || string(kv.Value) != "two" {
		t.Errorf("GetAt at the compaction = %q found %v, %v; want two", kv.Value, found, err)
	}
}

func testValuesAreCopies(t *testing.T, s state.Store) {
	ctx := context.Background()
	value := []byte("abc")
	_, err := s.Txn(ctx, state.Put("/k", value))
	must(t, err)
	value[0] = 'X'
	kv, _, _, err := s.Get(ctx, "/k")
	must(t, err)
	kv.Value[1] = 'Y'
	kvs, _, err := s.List(ctx, "/")
	must(t, err)
	kvs[0].Value[2] = 'Z'
	kv, _, _, err = s.Get(ctx, "/k")
	must(t, err)
	if string(kv.Value) != "abc" {
		t.Fatalf("stored value = %q, want abc: the store shares memory with its callers", kv.Value)
	}
}

func testList(t *testing.T, s state.Store) {
	ctx := context.Background()
	for _, key := range []string{"/p/c", "/q/a", "/p/a", "/p2/a", "/p/b/deep", "/p/b"} {
		put(t, s, key, key)
	}
	kvs, rev, err := s.List(ctx, "/p/")
	must(t, err)
	if got := keysOf(kvs); got != "/p/a /p/b /p/b/deep /p/c" || rev != 7 {
		t.Fatalf("List(/p/) = %s at %d, want /p/a /p/b /p/b/deep /p/c at 7", got, rev)
	}
	kvs, _, err = s.List(ctx, "/p")
	must(t, err)
	if got := keysOf(kvs); got != "/p/a /p/b /p/b/deep /p/c /p2/a" {
		t.Fatalf("List(/p) = %s, want a plain string prefix match", got)
	}
	kvs, _, err = s.List(ctx, "/none/")
	must(t, err)
	if len(kvs) != 0 {
		t.Fatalf("List(/none/) = %s, want nothing", keysOf(kvs))
	}
}

func testListPrefixes(t *testing.T, s state.Store) {
	ctx := context.Background()
	for _, key := range []string{"/c/1", "/a/2", "/b/1", "/a/1", "/c/2"} {
		put(t, s, key, key)
	}
	kvs, rev, err := s.List(ctx, "/c/", "/a/")
	must(t, err)
	if got := keysOf(kvs); got != "/a/1 /a/2 /c/1 /c/2" || rev != 6 {
		t.Fatalf("List(/c/, /a/) = %s at %d, want /a/1 /a/2 /c/1 /c/2 at 6", got, rev)
	}
	kvs, _, err = s.List(ctx, "/a/", "/a/1", "/a")
	must(t, err)
	if got := keysOf(kvs); got != "/a/1 /a/2" {
		t.Fatalf("List(/a/, /a/1, /a) = %s, want each key once: /a/1 /a/2", got)
	}
	kvs, _, err = s.List(ctx, "/none/", "/b/")
	must(t, err)
	if got := describeKVs(kvs); got != "/b/1=/b/1@4" {
		t.Fatalf("List(/none/, /b/) = %s, want /b/1=/b/1@4", got)
	}
	checkListIsOneRead(t, s)
}

// checkListIsOneRead lists two prefixes while a writer puts the same value
// under both in one Txn: a listing read at one revision never sees them
// differ, and since only that Txn writes, its revision is the keys'.
func checkListIsOneRead(t *testing.T, s state.Store) {
	ctx := context.Background()
	const writes = 100
	written := make(chan error, 1)
	go func() {
		for i := range writes {
			value := []byte(fmt.Sprint(i))
			if _, err := s.Txn(ctx, state.Put("/x/k", value), state.Put("/y/k", value)); err != nil {
				written <- err
				return
			}
		}
		written <- nil
	}()
	for done := false; !done; {
		select {
		case err := <-written:
			must(t, err)
			done = true
		default:
		}
		kvs, rev, err := s.List(ctx, "/x/", "/y/")
		must(t, err)
		if len(kvs) == 0 {
			continue
		}
		if len(kvs) != 2 || !bytes.Equal(kvs[0].Value, kvs[1].Value) || kvs[0].ModRevision != kvs[1].ModRevision ||
			kvs[0].ModRevision != rev {
			t.Fatalf("List(/x/, /y/) at %d = %s: not one revision's keys", rev, describeKVs(kvs))
		}
	}
}

func testDeleteEvent(t *testing.T, s state.Store) {
	put(t, s, "/k", "v")
	watch := s.Watch(watchContext(t), "/", 0)
	del(t, s, "/k")
	events := collect(t, watch, 1)
	if got := describeEvents(events); got != "3:delete /k" {
		t.Fatalf("delete event = %s, want 3:delete /k", got)
	}
	if len(events[0].Value) != 0 {
		t.Fatalf("delete event carries value %q, want none", events[0].Value)
	}
}

func testWatchReplay(t *testing.T, s state.Store) {
	for i := 2; i <= 6; i++ {
		put(t, s, fmt.Sprintf("/k%d", i), fmt.Sprint(i))
	}
	watch := s.Watch(watchContext(t), "/", 3)
	replayed := collect(t, watch, 4)
	if got := describeEvents(replayed); got != "3:put /k3=3 4:put /k4=4 5:put /k5=5 6:put /k6=6" {
		t.Fatalf("replay from 3 = %s", got)
	}
	put(t, s, "/k7", "7")
	del(t, s, "/k2")
	live := collect(t, watch, 2)
	if got := describeEvents(live); got != "7:put /k7=7 8:delete /k2" {
		t.Fatalf("live events after replay = %s, want 7:put /k7=7 8:delete /k2", got)
	}
}

func testWatchFromZero(t *testing.T, s state.Store) {
	put(t, s, "/old", "x")
	watch := s.Watch(watchContext(t), "/", 0)
	put(t, s, "/new", "y")
	events := collect(t, watch, 1)
	if got := describeEvents(events); got != "3:put /new=y" {
		t.Fatalf("watch from 0 first saw %s, want 3:put /new=y", got)
	}
}

func testWatchManyWrites(t *testing.T, s state.Store) {
	const writes = 150
	ctx := watchContext(t)
	eager := s.Watch(ctx, "/", 0)
	// The lazy watch is not read until every write is done: a store must
	// neither block the writer on it nor drop what it has not read.
	lazy := s.Watch(ctx, "/", 0)
	done := make(chan []state.Event, 1)
	go func() { done <- collectQuiet(eager, writes) }()
	for i := range writes {
		put(t, s, fmt.Sprintf("/k%d", i%7), fmt.Sprint(i))
	}
	for name, events := range map[string][]state.Event{"eager": <-done, "lazy": collect(t, lazy, writes)} {
		if len(events) != writes {
			t.Fatalf("%s watch got %d of %d events", name, len(events), writes)
		}
		for i := range events {
			want := fmt.Sprintf("%d:put /k%d=%d", i+2, i%7, i)
			if got := describeEvents(events[i : i+1]); got != want {
				t.Fatalf("%s watch event %d = %s, want %s", name, i, got, want)
			}
		}
	}
}

func testWatchPrefix(t *testing.T, s state.Store) {
	watch := s.Watch(watchContext(t), "/a/", 0)
	put(t, s, "/b/x", "1")
	put(t, s, "/a/x", "2")
	put(t, s, "/ab", "3")
	put(t, s, "/a/y", "4")
	if got := describeEvents(collect(t, watch, 2)); got != "3:put /a/x=2 5:put /a/y=4" {
		t.Fatalf("watch /a/ saw %s, want only keys under /a/", got)
	}
}

func testWatchCompacted(t *testing.T, s state.Store) {
	ctx := context.Background()
	for i := 2; i <= 6; i++ {
		put(t, s, fmt.Sprintf("/k%d", i), fmt.Sprint(i))
	}
	must(t, s.Compact(ctx, 4))
	resp, ok := receive(t, s.Watch(watchContext(t), "/", 2))
	if !ok {
		t.Fatal("watch below the compaction closed without an error")
	}
	var compacted *state.CompactedError
	if !errors.Is(resp.Err, state.ErrCompacted) || !errors.As(resp.Err, &compacted) {
		t.Fatalf("watch from 2 after Compact(4): %+v, want a *state.CompactedError", resp)
	}
	if compacted.CompactRevision != 4 {
		t.Fatalf("CompactRevision = %d, want 4", compacted.CompactRevision)
	}
	events := collect(t, s.Watch(watchContext(t), "/", 4), 3)
	if got := describeEvents(events); got != "4:put /k4=4 5:put /k5=5 6:put /k6=6" {
		t.Fatalf("watch from the compaction revision = %s, want revisions 4-6", got)
	}
}

func testCompactBounds(t *testing.T, s state.Store) {
	ctx := context.Background()
	put(t, s, "/a", "1")
	put(t, s, "/a", "2")
	if err := s.Compact(ctx, 10); err == nil {
		t.Fatal("Compact(10) at revision 3: no error")
	}
	must(t, s.Compact(ctx, 3))
	err := s.Compact(ctx, 2)
	var compacted *state.CompactedError
	if !errors.As(err, &compacted) || !errors.Is(err, state.ErrCompacted) {
		t.Fatalf("Compact(2) after Compact(3) = %v, want a *state.CompactedError", err)
	}
	if compacted.CompactRevision != 3 {
		t.Fatalf("Compact(2) after Compact(3) says history starts at %d, want 3", compacted.CompactRevision)
	}
	kv, _, _, err := s.Get(ctx, "/a")
	must(t, err)
	if string(kv.Value) != "2" {
		t.Fatalf("after compaction /a = %q, want the latest value 2", kv.Value)
	}
}

func testLeaseRevoke(t *testing.T, s state.Store) {
	ctx := context.Background()
	lease, err := s.Grant(ctx, 60)
	must(t, err)
	_, err = s.Txn(ctx,
		state.Op{Key: "/l/a", Value: []byte("a"), Lease: lease},
		state.Op{Key: "/l/b", Value: []byte("b"), Lease: lease},
		state.Put("/l/c", []byte("c")))
	must(t, err)
	kv, _, _, err := s.Get(ctx, "/l/a")
	must(t, err)
	if kv.Lease != lease {
		t.Fatalf("/l/a is on lease %d, want %d", kv.Lease, lease)
	}
	must(t, s.KeepAlive(ctx, lease))
	// A put without the lease takes the key off it.
	put(t, s, "/l/b", "b2")
	watch := s.Watch(watchContext(t), "/l/", 0)
	must(t, s.Revoke(ctx, lease))
	if got := describeEvents(collect(t, watch, 1)); got != "4:delete /l/a" {
		t.Fatalf("revoke events = %s, want 4:delete /l/a", got)
	}
	kvs, rev, err := s.List(ctx, "/l/")
	must(t, err)
	if got := keysOf(kvs); got != "/l/b /l/c" || rev != 4 {
		t.Fatalf("after revoke: %s at %d, want /l/b /l/c at 4", got, rev)
	}
	if err := s.KeepAlive(ctx, lease); !errors.Is(err, state.ErrLeaseNotFound) {
		t.Fatalf("KeepAlive of a revoked lease = %v, want ErrLeaseNotFound", err)
	}
}

func testUnknownLease(t *testing.T, s state.Store) {
	ctx := context.Background()
	if err := s.Revoke(ctx, 777); !errors.Is(err, state.ErrLeaseNotFound) {
		t.Fatalf("Revoke(777) = %v, want ErrLeaseNotFound", err)
	}
	if err := s.KeepAlive(ctx, 777); !errors.Is(err, state.ErrLeaseNotFound) {
		t.Fatalf("KeepAlive(777) = %v, want ErrLeaseNotFound", err)
	}
	if _, err := s.Txn(ctx, state.Op{Key: "/k", Value: []byte("v"), Lease: 777}); !errors.Is(err, state.ErrLeaseNotFound) {
		t.Fatalf("put on lease 777 = %v, want ErrLeaseNotFound", err)
	}
	if _, err := s.Grant(ctx, 0); err == nil {
		t.Fatal("Grant(0): no error")
	}
}

func testWatchCancel(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	watch := s.Watch(ctx, "/", 0)
	put(t, s, "/k", "v")
	cancel()
	deadline := time.After(waitFor)
	for {
		select {
		case _, ok := <-watch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel still open after its context was canceled")
		}
	}
}

func testCanceledContext(t *testing.T, s state.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := s.Get(ctx, "/k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.Txn(ctx, state.Put("/k", []byte("v"))); err == nil {
		t.Fatal("Txn with a canceled context: no error")
	}
	_, _, rev, err := s.Get(context.Background(), "/k")
	must(t, err)
	if rev != 1 {
		t.Fatalf("revision after a canceled Txn = %d, want 1", rev)
	}
}
