package state_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// callDeadline is the deadline of each call made while etcd is down.
const callDeadline = 500 * time.Millisecond

// While the only member is down, every call ends by its deadline with an
// error: nothing hangs waiting for etcd.
func TestDialCallsEndByTheirDeadlineWhileEtcdIsDown(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{})
	store := newDialedStore(t, cluster)
	mustWrite(t, store, "/before", time.Now().Add(5*time.Second))
	cluster.Stop(0)

	calls := map[string]func(ctx context.Context) error{
		"get":  func(ctx context.Context) error { _, _, _, err := store.Get(ctx, "/before"); return err },
		"list": func(ctx context.Context) error { _, _, err := store.List(ctx, "/"); return err },
		"txn": func(ctx context.Context) error {
			_, err := store.Txn(ctx, state.Put("/during", []byte("x")))
			return err
		},
		"grant": func(ctx context.Context) error { _, err := store.Grant(ctx, 5); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), callDeadline)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Errorf("%s with etcd down: no error", name)
		}
		// The slack covers scheduling on a busy machine, not a retry.
		if took > callDeadline+time.Second {
			t.Errorf("%s with etcd down took %v, deadline %v", name, took, callDeadline)
		}
	}
}

// reconnectOutage is the outage of TestDialReconnectsAfterOutage: long
// enough that gRPC's default backoff next tries several seconds after the
// member returns, so that without Dial's settings the test fails.
const reconnectOutage = 10 * time.Second

// After an outage, the client writes again within 2 s of the member being
// healthy, and a watch opened before the outage delivers the new write:
// resumed by the client, or, if it ended with an error, re-opened from the
// next revision. A client with etcd's defaults is measured alongside.
func TestDialReconnectsAfterOutage(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{})
	store := newDialedStore(t, cluster)
	lastSeen := mustWrite(t, store, "/before", time.Now().Add(5*time.Second))
	watch := store.Watch(t.Context(), "/", lastSeen+1)

	took := measureReconnect(t, cluster, reconnectOutage, 30*time.Second, store, newDefaultStore(t, cluster))
	t.Logf("first write after a %v outage, from the member healthy again: %v with Dial, %v with etcd's defaults",
		reconnectOutage, took[0], took[1])
	if took[0] < 0 || took[0] > 2*time.Second {
		t.Fatalf("the Dial client wrote %v after the member was healthy again, want within 2 s", took[0])
	}

	healthyAgain := time.Now()
	rev := mustWrite(t, store, "/after", healthyAgain.Add(2*time.Second))
	reopened := false
	for seen := false; !seen; {
		select {
		case resp, open := <-watch:
			if resp.Err != nil || !open {
				if reopened {
					t.Fatalf("the re-opened watch ended too: %v", resp.Err)
				}
				t.Logf("watch ended by the outage (%v); re-opening from revision %d", resp.Err, lastSeen+1)
				watch, reopened = store.Watch(t.Context(), "/", lastSeen+1), true
				continue
			}
			for _, ev := range resp.Events {
				lastSeen = ev.Revision
				seen = seen || ev.Revision == rev
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the watch did not deliver revision %d within 10 s", rev)
		}
	}
	t.Logf("the watch opened before the outage delivered a write %v after it (re-opened: %v)",
		time.Since(healthyAgain).Round(time.Millisecond), reopened)
}

// BenchmarkEtcdReconnect kills the only member of a cluster for 30 s and
// reports how long after it is healthy again a client first writes: with
// Dial's settings (reconnect-s, target ≤ 2) and with etcd's defaults
// (default-reconnect-s). One measurement whatever b.N.
func BenchmarkEtcdReconnect(b *testing.B) {
	const outage = 30 * time.Second
	cluster := etcdtest.Start(b, etcdtest.Options{})
	took := measureReconnect(b, cluster, outage, time.Minute, newDialedStore(b, cluster), newDefaultStore(b, cluster))
	if took[0] < 0 || took[1] < 0 {
		b.Fatalf("a client did not write within a minute of the member being healthy again: %v", took)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(took[0].Seconds(), "reconnect-s")
	b.ReportMetric(took[1].Seconds(), "default-reconnect-s")
}

// measureReconnect makes sure each store writes, kills member 0 for outage,
// starts it again, and returns for each store how long after the member was
// healthy its first write succeeded, all stores writing at once; -1 for a
// store that did not succeed within limit.
func measureReconnect(tb testing.TB, cluster *etcdtest.Cluster, outage, limit time.Duration, stores ...state.Store) []time.Duration {
	tb.Helper()
	for i, store := range stores {
		mustWrite(tb, store, fmt.Sprintf("/reconnect/%d", i), time.Now().Add(5*time.Second))
	}
	// Killed, the member is gone at once; stopped, it would wait up to 7 s
	// for open watches to end, and the outage would be that much longer.
	cluster.Kill(0)
	time.Sleep(outage)
	cluster.Start(0)
	healthy := time.Now()
	ctx, cancel := context.WithDeadline(tb.Context(), healthy.Add(limit))
	defer cancel()
	took := make([]time.Duration, len(stores))
	var writers sync.WaitGroup
	for i, store := range stores {
		writers.Go(func() {
			took[i] = -1
			if _, err := store.Txn(ctx, state.Put(fmt.Sprintf("/reconnect/%d", i), []byte("back"))); err == nil {
				took[i] = time.Since(healthy).Round(time.Millisecond)
			}
		})
	}
	writers.Wait()
	return took
}

// With all three endpoints, a client keeps writing while one member is down,
// and the member catches up once it returns.
func TestDialThreeMembersTolerateOneDown(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3})
	store := newDialedStore(t, cluster)
	mustWrite(t, store, "/before", time.Now().Add(5*time.Second))

	cluster.Stop(1)
	var rev int64
	for i := range 10 {
		// A leader stopped takes an election (about a second) to replace.
		rev = mustWrite(t, store, fmt.Sprintf("/during/%d", i), time.Now().Add(5*time.Second))
	}
	cluster.Start(1)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, found, _, err := newMemberStore(t, cluster.Endpoints()[1]).Get(ctx, "/during/9")
	if err != nil || !found {
		t.Fatalf("the returned member: /during/9 (revision %d) found %v, error %v", rev, found, err)
	}
}

func newDialedStore(tb testing.TB, cluster *etcdtest.Cluster) *state.EtcdStore {
	tb.Helper()
	store := state.NewEtcdStore(cluster.Client(tb))
	tb.Cleanup(func() { store.Close() })
	return store
}

// newDefaultStore is a store on a client with etcd's default settings, as
// sluice had before Dial.
func newDefaultStore(tb testing.TB, cluster *etcdtest.Cluster) *state.EtcdStore {
	tb.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	store := state.NewEtcdStore(cli)
	tb.Cleanup(func() { cli.Close() })
	tb.Cleanup(func() { store.Close() })
	return store
}

func newMemberStore(t *testing.T, endpoint string) *state.EtcdStore {
	t.Helper()
	cli, err := state.Dial(state.ClientConfig{Endpoints: []string{endpoint}})
	must(t, err)
	store := state.NewEtcdStore(cli)
	t.Cleanup(func() { cli.Close() })
	t.Cleanup(func() { store.Close() })
	return store
}

// mustWrite puts key in one Txn that must succeed by deadline, and returns
// its revision.
func mustWrite(tb testing.TB, store state.Store, key string, deadline time.Time) int64 {
	tb.Helper()
	ctx, cancel := context.WithDeadline(tb.Context(), deadline)
	defer cancel()
	rev, err := store.Txn(ctx, state.Put(key, []byte("x")))
	if err != nil {
		tb.Fatalf("write %s by %s: %v", key, deadline.Format(time.TimeOnly), err)
	}
	return rev
}
