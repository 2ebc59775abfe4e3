package state_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// followWait bounds every wait on a follower; a correct follower answers in
// milliseconds, a slow CI machine must not fail it.
const followWait = 20 * time.Second

// follow runs a follower of node until the test ends.
func follow(t *testing.T, store state.Store, node string, cfg state.FollowerConfig) *state.Follower {
	t.Helper()
	return run(t, state.NewFollower(store, node, cfg))
}

// run runs f until the test ends, and checks that Run returns nil then.
func run(t *testing.T, f *state.Follower) *state.Follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v when its context ended, want nil", err)
			}
		case <-time.After(followWait):
			t.Error("Run did not return when its context ended")
		}
	})
	return f
}

// waitFor waits for the follower's view to reach rev.
func waitFor(t *testing.T, f *state.Follower, rev int64) *state.View {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), followWait)
	defer cancel()
	view, err := f.WaitFor(ctx, rev)
	must(t, err)
	return view
}

func txn(t *testing.T, store state.Store, ops ...state.Op) int64 {
	t.Helper()
	rev, err := store.Txn(context.Background(), ops...)
	must(t, err)
	return rev
}

var allKinds = []state.Kind{state.KindNode, state.KindApp, state.KindObservation, state.KindDecision,
	state.KindStatus, state.KindPolicyError, state.KindPolicy, state.KindCluster}

func kindsOf(c state.Changes) []state.Kind {
	var kinds []state.Kind
	for _, kind := range allKinds {
		if c.Has(kind) {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}

// next waits for the subscription's next changes.
func next(t *testing.T, sub *state.Subscription) (*state.View, []state.Kind) {
	t.Helper()
	select {
	case <-sub.C():
	case <-time.After(followWait):
		t.Fatal("no change reported")
	}
	view, changes := sub.Next()
	return view, kindsOf(changes)
}

// The follower hands over its node's view as listed, then each change in
// order, saying which kinds of keys changed.
func TestFollowerListsThenFoldsChanges(t *testing.T) {
	store := state.NewMemoryStore()
	listed := twoNodes(t, store)
	f := state.NewFollower(store, "n1", state.FollowerConfig{})
	if f.View() != nil {
		t.Fatal("a view before the first listing")
	}
	early := f.Subscribe()
	run(t, f)

	view, kinds := next(t, early)
	if view.Revision != listed || !reflect.DeepEqual(state.SortedKeys(view.Apps), []string{"shared", "web"}) ||
		!reflect.DeepEqual(kinds, allKinds) {
		t.Fatalf("first view: apps %v at %d, changes %v; want shared web at %d, every kind", state.SortedKeys(view.Apps),
			view.Revision, kinds, listed)
	}
	if late := f.Subscribe(); !reflect.DeepEqual(kindsOfNext(late), allKinds) {
		t.Fatal("a subscription after the first view does not start with every kind pending")
	}

	// Three lifecycle steps written at once fold in order: the last stays.
	var rev int64
	for _, phase := range []string{"pending", "ready", "terminating"} {
		rev = txn(t, store, state.Put(state.Keys.Status("n1", "web"), []byte(`{"app":"web","phase":"`+phase+`"}`)))
	}
	view = waitFor(t, f, rev)
	if got := view.Statuses["web"].Phase; got != state.Terminating {
		t.Fatalf("status after pending, ready, terminating = %s", got)
	}
	if kinds := kindsOfNext(early); !reflect.DeepEqual(kinds, []state.Kind{state.KindStatus}) {
		t.Fatalf("changes after three statuses = %v, want status alone", kinds)
	}

	rev = txn(t, store, state.Put(state.Keys.App("", "extra"), appSpec("extra", "")))
	waitFor(t, f, rev)
	if kinds := kindsOfNext(early); !reflect.DeepEqual(kinds, []state.Kind{state.KindApp}) {
		t.Fatalf("changes after an app = %v, want app alone", kinds)
	}
	rev = txn(t, store, state.Delete(state.Keys.App("n1", "web")), state.Put(state.Keys.Decision("n1"), []byte(`{"node":"n1"}`)))
	view = waitFor(t, f, rev)
	if kinds := kindsOfNext(early); !reflect.DeepEqual(kinds, []state.Kind{state.KindApp, state.KindDecision}) {
		t.Fatalf("changes after an app's delete and a decision = %v, want app and decision", kinds)
	}
	if got := state.SortedKeys(view.Apps); !reflect.DeepEqual(got, []string{"extra", "shared"}) || len(view.Decisions) != 1 {
		t.Fatalf("apps %v, decisions %v; want extra shared and n1's decision", got, view.Decisions)
	}
	if f.Listings() != 1 {
		t.Fatalf("%d listings, want 1: the watch never broke", f.Listings())
	}
}

func kindsOfNext(sub *state.Subscription) []state.Kind {
	_, changes := sub.Next()
	return kindsOf(changes)
}

// A node's view never holds another node's keys, of any kind, however
// alike their names; the follower is not even told of them.
func TestFollowerNeverSeesAnotherNodesKeys(t *testing.T) {
	store := state.NewMemoryStore()
	f := follow(t, store, "n1", state.FollowerConfig{})
	sub := f.Subscribe()
	waitFor(t, f, 1)
	next(t, sub)
	for _, other := range []string{"n10", "n2"} {
		txn(t, store,
			state.Put(state.Keys.App(other, "db"), appSpec("db", other)),
			state.Put(state.Keys.Status(other, "db"), []byte(`{"app":"db","phase":"ready"}`)),
			state.Put(state.Keys.Observation(other), []byte(`{"node":"`+other+`"}`)),
			state.Put(state.Keys.Decision(other), []byte(`{"node":"`+other+`"}`)),
			state.Put(state.Keys.PolicyError(other), []byte(`{"node":"`+other+`"}`)),
		)
	}
	rev := txn(t, store, state.Put(state.Keys.Observation("n1"), []byte(`{"node":"n1"}`)))
	view := waitFor(t, f, rev)
	if n := len(view.Apps) + len(view.Statuses) + len(view.Decisions) + len(view.PolicyErrors) + len(view.Errors); n != 0 ||
		!reflect.DeepEqual(state.SortedKeys(view.Observations), []string{"n1"}) {
		t.Fatalf("n1's view holds other nodes' keys: %+v", view)
	}
	if _, kinds := next(t, sub); !reflect.DeepEqual(kinds, []state.Kind{state.KindObservation}) {
		t.Fatalf("changes = %v, want n1's observation alone", kinds)
	}
}

// flakyStore is a MemoryStore whose watches can be broken, and whose
// listings and watches can fail for a while, as etcd's do when it is away.
type flakyStore struct {
	*state.MemoryStore
	mu      sync.Mutex
	down    bool
	failed  int
	watches []chan struct{}
	breakBy error
}

var errStoreAway = errors.New("the store is away")

func (s *flakyStore) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// failures counts the listings and watches that failed while down.
func (s *flakyStore) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

func (s *flakyStore) List(ctx context.Context, prefixes ...string) ([]state.KeyValue, int64, error) {
	s.mu.Lock()
	if s.down {
		s.failed++
		s.mu.Unlock()
		return nil, 0, errStoreAway
	}
	s.mu.Unlock()
	return s.MemoryStore.List(ctx, prefixes...)
}

// breakWatches ends every open watch with err before it delivers anything
// written from now on.
func (s *flakyStore) breakWatches(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakBy = err
	for _, broken := range s.watches {
		close(broken)
	}
	s.watches = nil
}

func (s *flakyStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan state.WatchResponse {
	out := make(chan state.WatchResponse)
	broken := make(chan struct{})
	s.mu.Lock()
	if s.down {
		s.failed++
		close(broken)
		s.breakBy = errStoreAway
	} else {
		s.watches = append(s.watches, broken)
	}
	s.mu.Unlock()
	inner := s.MemoryStore.Watch(ctx, prefix, fromRev)
	go func() {
		defer close(out)
		fail := func() {
			s.mu.Lock()
			err := s.breakBy
			s.mu.Unlock()
			select {
			case out <- state.WatchResponse{Err: err}:
			case <-ctx.Done():
			}
		}
		for {
			select {
			case <-broken:
				fail()
				return
			case resp, ok := <-inner:
				if !ok {
					return
				}
				select {
				case <-broken:
					fail()
					return
				default:
				}
				select {
				case out <- resp:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// A watch that fell behind compaction lists again at once, without the
// backoff of a failure, and the new listing holds what the old watch missed.
func TestFollowerRelistsAtOnceAfterCompaction(t *testing.T) {
	store := &flakyStore{MemoryStore: state.NewMemoryStore()}
	// A backoff of an hour would time the test out.
	f := follow(t, store, "n1", state.FollowerConfig{Retry: state.Backoff{Initial: time.Hour, Max: time.Hour}})
	first := waitFor(t, f, txn(t, store, state.Put(state.Keys.Observation("n1"), []byte(`{"node":"n1"}`))))
	store.breakWatches(&state.CompactedError{CompactRevision: first.Revision})
	rev := txn(t, store, state.Put(state.Keys.Status("n1", "web"), []byte(`{"app":"web","phase":"ready"}`)))
	view := waitFor(t, f, rev)
	if view.Statuses["web"].Phase != state.Ready || len(view.Observations) != 1 {
		t.Fatalf("after the relist: statuses %v, observations %v", view.Statuses, view.Observations)
	}
	if f.Listings() != 2 {
		t.Fatalf("%d listings, want 2: one, and one after the compaction", f.Listings())
	}
}

// While the store is away the follower keeps its last view, unchanged, and
// once it is back lists again and catches up on what was written meanwhile.
func TestFollowerKeepsTheLastViewWhileTheStoreFails(t *testing.T) {
	store := &flakyStore{MemoryStore: state.NewMemoryStore()}
	f := follow(t, store, "n1", state.FollowerConfig{Retry: state.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}})
	last := waitFor(t, f, txn(t, store, state.Put(state.Keys.App("n1", "web"), appSpec("web", "n1"))))
	store.setDown(true)
	store.breakWatches(errStoreAway)
	// Another writer still reaches the store.
	rev := txn(t, store, state.Put(state.Keys.Decision("n1"), []byte(`{"node":"n1"}`)))
	deadline := time.Now().Add(followWait)
	for store.failures() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d failed listings in %v, want retries", store.failures(), followWait)
		}
		time.Sleep(time.Millisecond)
	}
	if got := f.View(); got != last || len(got.Decisions) != 0 || len(got.Apps) != 1 {
		t.Fatalf("while the store is away the view changed: %+v, want the last one %+v", got, last)
	}
	store.setDown(false)
	view := waitFor(t, f, rev)
	if _, ok := view.Decisions["n1"]; !ok || len(view.Apps) != 1 {
		t.Fatalf("back: decisions %v, apps %v; want the decision written while away", view.Decisions, view.Apps)
	}
	if f.Listings() < 2 {
		t.Fatalf("%d listings, want a new one once the store is back", f.Listings())
	}
}

func TestFollowerWaitFor(t *testing.T) {
	store := state.NewMemoryStore()
	f := state.NewFollower(store, "n1", state.FollowerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.WaitFor(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "node n1") {
		t.Fatalf("WaitFor before the first listing = %v, want the deadline, naming the node", err)
	}
	run(t, f)
	rev := txn(t, store, state.Put(state.Keys.Observation("n1"), []byte(`{"node":"n1"}`)))
	view := waitFor(t, f, rev)
	if _, ok := view.Observations["n1"]; !ok || view.Revision < rev {
		t.Fatalf("WaitFor(%d) = view at %d with observations %v", rev, view.Revision, view.Observations)
	}
	if again := waitFor(t, f, 1); again.Revision < rev {
		t.Fatalf("WaitFor of a past revision = view at %d, want the latest, at %d or later", again.Revision, rev)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.WaitFor(ctx, rev+5); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "revision") {
		t.Fatalf("WaitFor of a future revision = %v, want the deadline, naming the revision", err)
	}
}

// A view handed out never changes: the follower copies a map before it
// changes one a reader may hold.
func TestFollowerViewsAreCopiesOnWrite(t *testing.T) {
	store := state.NewMemoryStore()
	twoNodes(t, store)
	f := follow(t, store, "n1", state.FollowerConfig{})
	held := waitFor(t, f, 2)
	before := snapshot(t, held)
	rev := txn(t, store,
		state.Put(state.Keys.Node("n1"), []byte(`{"name":"n1","capacity":{"cpus":8}}`)),
		state.Delete(state.Keys.Node("n2")),
		state.Put(state.Keys.App("n1", "shared"), appSpec("shared", "n1")),
		state.Delete(state.Keys.App("n1", "web")),
		state.Put(state.Keys.Observation("n1"), []byte(`{"node":"n1","interval_seconds":1}`)),
		state.Put(state.Keys.Decision("n1"), []byte(`{"node":"n1"}`)),
		state.Put(state.Keys.Status("n1", "web"), []byte(`{"app":"web","phase":"terminated"}`)),
		state.Put(state.Keys.PolicyError("n1"), []byte(`{"node":"n1"}`)),
		state.Put(state.Keys.Policy("shield.rego"), []byte("package other")),
		state.Put(state.ClusterPrefix+"id", []byte("abc")),
		state.Put(state.Keys.App("", "bad"), []byte("{")),
	)
	// The Txn spans the node's scope and the cluster keys, which come by
	// separate watches: wait for both.
	waitUntil(t, f, func(v *state.View) bool {
		return v.Revision >= rev && len(v.Decisions) == 1 && len(v.Nodes) == 1 && len(v.Errors) == 1 &&
			string(v.Policies["shield.rego"]) == "package other" && len(v.Cluster) == 1
	})
	if after := snapshot(t, held); after != before {
		t.Fatalf("a view handed out changed:\nbefore %s\nafter  %s", before, after)
	}
}

// waitUntil waits for a view of f that satisfies done.
func waitUntil(t *testing.T, f *state.Follower, done func(*state.View) bool) *state.View {
	t.Helper()
	sub := f.Subscribe()
	timeout := time.After(followWait)
	for {
		if view := f.View(); view != nil && done(view) {
			return view
		}
		select {
		case <-sub.C():
		case <-timeout:
			t.Fatalf("no view as wanted within %v; the latest: %+v", followWait, f.View())
		}
	}
}

func snapshot(t *testing.T, view *state.View) string {
	t.Helper()
	data, err := json.Marshal(view)
	must(t, err)
	return string(data)
}

// On a real etcd, whose watches and listing the follower uses as on the
// memory store.
func TestFollowerOnEtcd(t *testing.T) {
	store := newEtcdStore(t)
	listed := twoNodes(t, store)
	f := follow(t, store, "n1", state.FollowerConfig{})
	view := waitFor(t, f, listed)
	if got := state.SortedKeys(view.Apps); !reflect.DeepEqual(got, []string{"shared", "web"}) {
		t.Fatalf("first view: apps %v, want shared web", got)
	}
	txn(t, store, state.Put(state.Keys.Status("n2", "db"), []byte(`{"app":"db","phase":"failed"}`)))
	txn(t, store, state.Put(state.Keys.Status("n1", "web"), []byte(`{"app":"web","phase":"pending"}`)))
	rev := txn(t, store, state.Put(state.Keys.Status("n1", "web"), []byte(`{"app":"web","phase":"ready"}`)))
	view = waitFor(t, f, rev)
	if len(view.Statuses) != 1 || view.Statuses["web"].Phase != state.Ready {
		t.Fatalf("statuses %v, want n1's web ready alone", view.Statuses)
	}
	if f.Listings() != 1 {
		t.Fatalf("%d listings, want 1", f.Listings())
	}
}

// A Txn that writes the node's keys and a cluster key reaches the follower
// by two watches, in either order; WaitFor returns only a view that holds
// both, so a decision is made on the log as it stands at its revision.
func TestFollowerWaitForReturnsOnlyExactViews(t *testing.T) {
	for name, store := range map[string]state.Store{"memory": state.NewMemoryStore(), "etcd": newEtcdStore(t)} {
		t.Run(name, func(t *testing.T) {
			twoNodes(t, store)
			f := follow(t, store, "n1", state.FollowerConfig{})
			for i := range 50 {
				policy := fmt.Sprintf("package p%d", i)
				rev := txn(t, store,
					state.Put(state.Keys.Observation("n1"), []byte(fmt.Sprintf(`{"node":"n1","interval_seconds":%d}`, i))),
					state.Put(state.Keys.Policy("p.rego"), []byte(policy)))
				view := waitFor(t, f, rev)
				if got := view.Observations["n1"].IntervalSeconds; got != float64(i) || string(view.Policies["p.rego"]) != policy {
					t.Fatalf("round %d: WaitFor(%d) gave a view at %d with observation %g and policy %q: half a Txn",
						i, rev, view.Revision, got, view.Policies["p.rego"])
				}
			}
		})
	}
}
