package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// startEtcd runs a fresh embedded etcd on free loopback ports, stopped when
// the test ends, and returns it with a store on it.
func startEtcd(t *testing.T) (*state.Embedded, state.Store) {
	return etcdtest.Embedded(t)
}

func manyAppOps(apps int, deleted bool) []state.Op {
	ops := make([]state.Op, apps)
	for i := range ops {
		name := fmt.Sprintf("app%03d", i)
		if deleted {
			ops[i] = state.Delete(state.Keys.App("", name))
			continue
		}
		spec := fmt.Sprintf(`{"name":%q,"containers":[{"name":"job","image":"cpuhog","class":"best-effort"}]}`, name)
		ops[i] = state.Put(state.Keys.App("", name), []byte(spec))
	}
	return ops
}

func writeOps(t *testing.T, store state.Store, ops []state.Op) {
	t.Helper()
	if err := state.TxnBatched(context.Background(), store, ops, func([]state.Op, int64) {}); err != nil {
		t.Fatal(err)
	}
}

// passUntilAll runs passes, each of which must succeed, until every one of
// apps has a status in phase.
func passUntilAll(t *testing.T, n *node, apps int, phase state.Phase) {
	t.Helper()
	var phases map[state.Phase]int
	for range 10 {
		n.mustPass()
		view, err := state.LoadView(context.Background(), n.store, "n1")
		if err != nil {
			t.Fatal(err)
		}
		phases = map[state.Phase]int{}
		for _, status := range view.Statuses {
			phases[status.Phase]++
		}
		if phases[phase] == apps {
			return
		}
	}
	t.Fatalf("after 10 passes the statuses are %v, want all %d %s", phases, apps, phase)
}

// A pass can move more apps than etcd takes in one transaction; every
// transition must still be written, once, on a real etcd.
func TestRunnerWritesMoreTransitionsThanOneTxnHolds(t *testing.T) {
	_, store := startEtcd(t)
	n := newNode(t, store, fake.NewRuntime())
	const apps = 300
	writeOps(t, store, manyAppOps(apps, false))
	passUntilAll(t, n, apps, state.Ready)
	writeOps(t, store, manyAppOps(apps, true))
	passUntilAll(t, n, apps, state.Terminated)
	want := []string{"->pending:create", "pending->ready:all-running", "ready->terminating:delete", "terminating->terminated:removed"}
	for _, app := range []string{"app000", "app150", "app299"} {
		if got := transitions(t, store, app); !slices.Equal(got, want) {
			t.Fatalf("%s went %v, want %v", app, got, want)
		}
	}
}

// With etcd gone, a pass that has statuses to write fails within the
// store's call timeout instead of waiting for etcd to come back.
func TestRunnerPassEndsWhileEtcdIsDown(t *testing.T) {
	server, store := startEtcd(t)
	n := newNode(t, store, fake.NewRuntime())
	put(t, store, state.Keys.App("", "web"), webSpec)
	if err := n.runner.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	server.Close()
	passed := make(chan error, 1)
	go func() { passed <- n.runner.ReconcileOnce(context.Background()) }()
	select {
	case err := <-passed:
		if err == nil {
			t.Fatal("pass with etcd down: no error, want the status write to fail")
		}
	case <-time.After(3 * state.DefaultCallTimeout):
		t.Fatalf("pass with etcd down still blocked after %v", 3*state.DefaultCallTimeout)
	}
}

// cutStore lets a number of Txns through, then fails the rest; ok < 0
// lets all through.
type cutStore struct {
	*state.MemoryStore
	mu sync.Mutex
	ok int
}

func (s *cutStore) letThrough(txns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok = txns
}

func (s *cutStore) Txn(ctx context.Context, ops ...state.Op) (int64, error) {
	s.mu.Lock()
	if s.ok == 0 {
		s.mu.Unlock()
		return 0, errors.New("etcdserver: request timed out")
	}
	if s.ok > 0 {
		s.ok--
	}
	s.mu.Unlock()
	return s.MemoryStore.Txn(ctx, ops...)
}

// A status write that fails after some of its transactions keeps only the
// statuses not written: the next pass writes those and rewrites nothing.
func TestRunnerResumesAStatusWriteThatFailedMidway(t *testing.T) {
	store := &cutStore{MemoryStore: state.NewMemoryStore(), ok: -1}
	n := newNode(t, store, fake.NewRuntime())
	const apps = 300
	writeOps(t, store, manyAppOps(apps, false))
	store.letThrough(1)
	if err := n.pass(); err == nil {
		t.Fatal("pass with the second status txn failing: no error")
	}
	store.letThrough(-1)
	n.mustPass()
	for i := range apps {
		app := fmt.Sprintf("app%03d", i)
		history := transitions(t, store, app)
		if len(history) == 0 || history[0] != "->pending:create" || slices.Contains(history[1:], history[0]) {
			t.Fatalf("%s went %v, want ->pending:create written once, first", app, history)
		}
	}
}
