package reconciler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// manualClock is virtual time the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// node is a runner over the in-memory store and the fake actuators.
type node struct {
	t       *testing.T
	store   state.Store
	runtime *fake.Runtime
	clock   *manualClock
	runner  *reconciler.Runner
}

func newNode(t *testing.T, store state.Store, runtime *fake.Runtime, adjust ...func(*reconciler.RunnerConfig)) *node {
	t.Helper()
	n := &node{t: t, store: store, runtime: runtime, clock: &manualClock{now: scriptStart}}
	cfg := reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime,
		CPU: fake.NewCPU(runtime), Bandwidth: fake.NewBandwidth(runtime),
		Clock: n.clock, Random: rand.NewChaCha8([32]byte{9}),
		RestartBackoff: state.Backoff{Initial: time.Second, Max: 4 * time.Second},
		ActionBackoff:  state.Backoff{Initial: time.Second, Max: 8 * time.Second},
	}
	for _, f := range adjust {
		f(&cfg)
	}
	n.runner = reconciler.NewRunner(cfg)
	return n
}

// pass syncs the view and runs one reconcile, as the simulator does per tick.
func (n *node) pass() error {
	n.t.Helper()
	if err := n.runner.Sync(context.Background()); err != nil {
		n.t.Fatalf("sync: %v", err)
	}
	return n.runner.ReconcileOnce(context.Background())
}

func (n *node) mustPass() {
	n.t.Helper()
	if err := n.pass(); err != nil {
		n.t.Fatalf("pass: %v", err)
	}
}

func put(t *testing.T, store state.Store, key, value string) {
	t.Helper()
	if _, err := store.Txn(context.Background(), state.Put(key, []byte(value))); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func del(t *testing.T, store state.Store, key string) {
	t.Helper()
	if _, err := store.Txn(context.Background(), state.Delete(key)); err != nil {
		t.Fatalf("delete %s: %v", key, err)
	}
}

const (
	webSpec   = `{"name":"web","containers":[{"name":"api","image":"nginx","class":"latency-critical","cpuset":"0"},{"name":"hog","image":"cpuhog","class":"best-effort","cpuset":"0"}]}`
	batchSpec = `{"name":"batch","containers":[{"name":"job","image":"cpuhog","class":"best-effort"}]}`
)

// transitions reads an app's status history: every write is one step of
// its lifecycle.
func transitions(t *testing.T, store state.Store, app string) []string {
	t.Helper()
	ctx := context.Background()
	_, _, rev, err := store.Get(ctx, state.Root)
	if err != nil {
		t.Fatalf("read revision: %v", err)
	}
	events, err := state.History(ctx, store, state.Keys.Status("n1", app), rev)
	if err != nil {
		t.Fatalf("history of %s: %v", app, err)
	}
	var out []string
	for _, ev := range events {
		if ev.Key != state.Keys.Status("n1", app) || ev.Deleted {
			continue
		}
		var status state.AppStatus
		if err := json.Unmarshal(ev.Value, &status); err != nil {
			t.Fatalf("decode status: %v", err)
		}
		out = append(out, fmt.Sprintf("%s->%s:%s", status.Transition.From, status.Transition.To, status.Transition.Event))
	}
	return out
}

func currentStatus(t *testing.T, store state.Store, app string) (state.AppStatus, bool) {
	t.Helper()
	kv, found, _, err := store.Get(context.Background(), state.Keys.Status("n1", app))
	if err != nil {
		t.Fatalf("get status of %s: %v", app, err)
	}
	var status state.AppStatus
	if found {
		if err := json.Unmarshal(kv.Value, &status); err != nil {
			t.Fatalf("decode status of %s: %v", app, err)
		}
	}
	return status, found
}

func wantTransitions(t *testing.T, store state.Store, app string, want ...string) {
	t.Helper()
	if got := transitions(t, store, app); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("transitions of %s:\n got  %v\n want %v", app, got, want)
	}
}

func TestRunnerCreatesAppUntilReady(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime())
	put(t, n.store, state.Keys.App("", "web"), webSpec)
	n.mustPass()
	n.mustPass()
	n.mustPass()
	wantTransitions(t, n.store, "web", "->pending:create", "pending->ready:all-running")
	status, _ := currentStatus(t, n.store, "web")
	if status.Node != "n1" || len(status.Containers) != 2 || !status.Containers[0].Running || status.Containers[0].GUID == "" {
		t.Fatalf("status %+v lacks the node or its running containers", status)
	}
	if got := fake.FormatCalls(n.runtime.Calls()); strings.Count(got, "create ") != 2 {
		t.Fatalf("calls:\n%s\nwant two creates", got)
	}
}

func TestRunnerRestartsDeadContainerAfterBackoff(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime())
	put(t, n.store, state.Keys.App("", "web"), webSpec)
	n.mustPass()
	n.mustPass()
	if err := n.runtime.Kill("web/hog", 137, true); err != nil {
		t.Fatal(err)
	}
	n.mustPass()
	status, _ := currentStatus(t, n.store, "web")
	if status.Phase != state.Failed || !strings.Contains(status.Transition.Reason, "OOM") {
		t.Fatalf("after the kill: %+v, want failed for the OOM kill", status)
	}
	n.clock.Advance(900 * time.Millisecond)
	n.mustPass()
	if got := n.runtime.CountCalls("create", "web/hog"); got != 1 {
		t.Fatalf("restarted before the backoff: %d creates", got)
	}
	n.clock.Advance(100 * time.Millisecond)
	n.mustPass()
	n.mustPass()
	if got := n.runtime.CountCalls("create", "web/hog"); got != 2 {
		t.Fatalf("not restarted after the backoff: %d creates", got)
	}
	if got := n.runtime.CountCalls("create", "web/api"); got != 1 {
		t.Fatalf("the healthy container was recreated: %d creates", got)
	}
	wantTransitions(t, n.store, "web",
		"->pending:create", "pending->ready:all-running", "ready->failed:container-failed",
		"failed->pending:restart", "pending->ready:all-running")
	status, _ = currentStatus(t, n.store, "web")
	if status.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", status.Restarts)
	}
}

func TestRunnerTerminatesDeletedApp(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime())
	put(t, n.store, state.Keys.App("", "web"), webSpec)
	n.mustPass()
	n.mustPass()
	del(t, n.store, state.Keys.App("", "web"))
	n.mustPass()
	n.mustPass()
	n.mustPass()
	wantTransitions(t, n.store, "web",
		"->pending:create", "pending->ready:all-running", "ready->terminating:delete", "terminating->terminated:removed")
	if containers, _ := n.runtime.List(context.Background()); len(containers) != 0 {
		t.Fatalf("containers left: %+v", containers)
	}
}

func TestRunnerAdoptsContainersAfterRestart(t *testing.T) {
	store, runtime := state.NewMemoryStore(), fake.NewRuntime()
	first := newNode(t, store, runtime)
	put(t, store, state.Keys.App("", "web"), webSpec)
	put(t, store, state.Keys.App("", "batch"), batchSpec)
	first.mustPass()
	first.mustPass()
	_, _, before, _ := store.Get(context.Background(), state.Root)

	// A new agent: new runner and core, same store, same containers.
	second := newNode(t, store, runtime)
	runtime.ResetCalls()
	for range 3 {
		second.mustPass()
	}
	if calls := runtime.Calls(); len(calls) != 0 {
		t.Fatalf("the restarted runner acted on adopted containers:\n%s", fake.FormatCalls(calls))
	}
	if _, _, after, _ := store.Get(context.Background(), state.Root); after != before {
		t.Fatalf("the restarted runner wrote %d statuses for converged apps", after-before)
	}
	if phase, _ := second.runner.Phase("web"); phase != state.Ready {
		t.Fatalf("adopted phase %q, want ready", phase)
	}
}

func TestRunnerReportsMalformedSpecAndRunsTheRest(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime())
	put(t, n.store, state.Keys.App("", "web"), webSpec)
	put(t, n.store, state.Keys.App("", "bad"), `{"name":"bad","containers":[{"name":"x","image":"nginx","class":"urgent"}]}`)
	n.mustPass()
	n.mustPass()
	bad, found := currentStatus(t, n.store, "bad")
	if !found || bad.Phase != state.Failed || !strings.Contains(bad.Error, `class "urgent"`) {
		t.Fatalf("status of the bad app: %+v, want failed naming the class", bad)
	}
	if web, _ := currentStatus(t, n.store, "web"); web.Phase != state.Ready {
		t.Fatalf("web is %q next to a malformed spec, want ready", web.Phase)
	}
	if n.runtime.CountCalls("create", "bad/x") != 0 {
		t.Fatal("a container of the malformed spec was created")
	}
}

func TestRunnerRetriesFailingActionWithBackoffWhileOthersProceed(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime())
	put(t, n.store, state.Keys.App("", "web"), webSpec)
	n.mustPass()
	n.mustPass()
	n.runtime.Fail("set-cpu", "web/hog", errors.New("write cpu.max: device busy"), 2)
	put(t, n.store, state.Keys.Decision("n1"),
		`{"node":"n1","revision":5,"time":"2026-01-01T00:00:00Z","bundle_digest":"d","containers":{"web/hog":{"cpu_quota_cores":0.2},"web/api":{"cpu_shares":4096}},"reasons":[]}`)

	n.mustPass() // hog fails (1st), api set
	n.mustPass() // hog waits: backoff 1 s
	if got := attempts(n.runtime, "set-cpu", "web/hog"); got != 1 {
		t.Fatalf("hog's set-cpu tried %d times before its backoff ended, want 1", got)
	}
	if got := n.runtime.CountCalls("set-cpu", "web/api"); got != 1 {
		t.Fatalf("api's set-cpu done %d times, want 1: a failure elsewhere must not block it", got)
	}
	n.clock.Advance(time.Second)
	n.mustPass() // hog fails (2nd): backoff 2 s
	n.clock.Advance(time.Second)
	n.mustPass()
	if got := attempts(n.runtime, "set-cpu", "web/hog"); got != 2 {
		t.Fatalf("hog's set-cpu tried %d times, want 2: the second backoff is 2 s", got)
	}
	n.clock.Advance(time.Second)
	n.mustPass()
	if got := n.runtime.CountCalls("set-cpu", "web/hog"); got != 1 {
		t.Fatalf("hog's set-cpu succeeded %d times, want 1", got)
	}
	if web, _ := currentStatus(t, n.store, "web"); web.Phase != state.Ready {
		t.Fatalf("a failing setting moved the app to %q", web.Phase)
	}
}

func attempts(runtime *fake.Runtime, op, id string) int {
	n := 0
	for _, call := range runtime.Calls() {
		if call.Op == op && call.ContainerID == id {
			n++
		}
	}
	return n
}

// flakyStore fails writes while down is set, and can break its next watch
// with ErrCompacted.
type flakyStore struct {
	*state.MemoryStore
	mu             sync.Mutex
	down           bool
	compactedWatch int
}

func (s *flakyStore) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *flakyStore) Txn(ctx context.Context, ops ...state.Op) (int64, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return 0, errors.New("etcdserver: request timed out")
	}
	return s.MemoryStore.Txn(ctx, ops...)
}

func (s *flakyStore) Watch(ctx context.Context, prefix string, from int64) <-chan state.WatchResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compactedWatch > 0 {
		s.compactedWatch--
		ch := make(chan state.WatchResponse, 1)
		ch <- state.WatchResponse{Err: &state.CompactedError{CompactRevision: from + 1}}
		close(ch)
		return ch
	}
	return s.MemoryStore.Watch(ctx, prefix, from)
}

func TestRunnerKeepsStatusesWhileStoreIsDown(t *testing.T) {
	store := &flakyStore{MemoryStore: state.NewMemoryStore()}
	n := newNode(t, store, fake.NewRuntime())
	put(t, store, state.Keys.App("", "web"), webSpec)
	store.setDown(true)
	if err := n.pass(); err == nil {
		t.Fatal("a pass whose statuses could not be written reported success")
	}
	if err := n.pass(); err == nil {
		t.Fatal("second pass reported success while the store is down")
	}
	if got := n.runtime.CountCalls("create", "web/api"); got != 1 {
		t.Fatalf("creates while the store is down: %d, want 1 (the last view still applies)", got)
	}
	store.setDown(false)
	n.mustPass()
	wantTransitions(t, store, "web", "->pending:create", "pending->ready:all-running")
}

// follow starts a follower of node's view that runs until ctx ends, as
// the agent does for its runner.
func follow(ctx context.Context, store state.Store, node string) *state.Follower {
	follower := state.NewFollower(store, node, state.FollowerConfig{Retry: state.Backoff{Initial: 10 * time.Millisecond}})
	go follower.Run(ctx)
	return follower
}

func TestRunnerRunNeedsAFollower(t *testing.T) {
	runner := reconciler.NewRunner(reconciler.RunnerConfig{Node: "n1", Store: state.NewMemoryStore(), Runtime: fake.NewRuntime()})
	if err := runner.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "Follower") {
		t.Fatalf("Run without a follower: %v, want an error naming it", err)
	}
}

// waitFor polls cond until it holds or the deadline passes; the runner
// under test moves on its own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func phaseIs(t *testing.T, store state.Store, app string, phase state.Phase) func() bool {
	return func() bool {
		status, found := currentStatus(t, store, app)
		return found && status.Phase == phase
	}
}

func TestRunnerRunFollowsStoreAndRuntime(t *testing.T) {
	store := &flakyStore{MemoryStore: state.NewMemoryStore(), compactedWatch: 1}
	runtime := fake.NewRuntime()
	ctx, cancel := context.WithCancel(context.Background())
	follower := follow(ctx, store, "n1")
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Follower: follower, Runtime: runtime, CPU: fake.NewCPU(runtime),
		Random:         rand.NewChaCha8([32]byte{3}),
		RestartBackoff: state.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		ResyncInterval: time.Hour, // every pass below must come from a wake
	})
	stopped := make(chan error)
	go func() { stopped <- runner.Run(ctx) }()

	put(t, store, state.Keys.App("", "web"), webSpec)
	waitFor(t, "web ready", phaseIs(t, store, "web", state.Ready))

	if err := runtime.Kill("web/api", 1, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web restarted", func() bool { return runtime.CountCalls("create", "web/api") == 2 })
	waitFor(t, "web ready again", phaseIs(t, store, "web", state.Ready))

	del(t, store, state.Keys.App("", "web"))
	waitFor(t, "web terminated", phaseIs(t, store, "web", state.Terminated))

	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if follower.Listings() < 2 {
		t.Fatalf("the follower listed %d times, want a second listing after the compacted watch", follower.Listings())
	}
	wantTransitions(t, store, "web",
		"->pending:create", "pending->ready:all-running", "ready->failed:container-failed",
		"failed->pending:restart", "pending->ready:all-running", "ready->terminating:delete", "terminating->terminated:removed")
}

func TestRunnerNeedsAView(t *testing.T) {
	runtime := fake.NewRuntime()
	runner := reconciler.NewRunner(reconciler.RunnerConfig{Node: "n1", Store: state.NewMemoryStore(), Runtime: runtime})
	if err := runner.ReconcileOnce(context.Background()); !errors.Is(err, reconciler.ErrNoView) {
		t.Fatalf("a pass without a view: %v, want ErrNoView", err)
	}
	if err := reconciler.NewRunner(reconciler.RunnerConfig{Node: "n1"}).ReconcileOnce(context.Background()); err == nil {
		t.Fatal("a runner without a store ran")
	}
}

func TestRunnerApplyFeedsTheView(t *testing.T) {
	runtime := fake.NewRuntime()
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: state.NewMemoryStore(), Runtime: runtime, Random: rand.NewChaCha8([32]byte{}),
	})
	runner.Apply(state.Event{Revision: 2, Key: state.Keys.App("", "batch"), Value: []byte(batchSpec)})
	if err := runner.ReconcileOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runner.Revision() != 2 || runtime.CountCalls("create", "batch/job") != 1 {
		t.Fatalf("revision %d, calls %v", runner.Revision(), runtime.Calls())
	}
}

func TestRunnerMarksAppsLostWhenTheHeartbeatLeaseExpires(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	runtime := fake.NewRuntime()
	n := newNode(t, store, runtime)
	n.runner = reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime, Clock: n.clock, Random: rand.NewChaCha8([32]byte{}),
		NodeLost: reconciler.LostWhenUnregistered("n1"),
	})
	register := func() int64 {
		lease, err := store.Grant(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		op := state.Put(state.Keys.Node("n1"), []byte(`{"name":"n1","agent_version":"test","runtime":"fake","capacity":{"cpus":2,"memory_bytes":1}}`))
		op.Lease = lease
		if _, err := store.Txn(ctx, op); err != nil {
			t.Fatal(err)
		}
		return lease
	}
	register()
	store.ExpireLeases(n.clock.Now())
	put(t, store, state.Keys.App("", "web"), webSpec)
	n.mustPass()
	n.mustPass()

	n.clock.Advance(6 * time.Second)
	if expired := store.ExpireLeases(n.clock.Now()); len(expired) != 1 {
		t.Fatalf("expired leases %v, want the heartbeat's", expired)
	}
	runtime.ResetCalls()
	n.mustPass()
	if status, _ := currentStatus(t, store, "web"); status.Phase != state.Lost {
		t.Fatalf("after the lease expired web is %q, want lost", status.Phase)
	}
	if calls := runtime.Calls(); len(calls) != 0 {
		t.Fatalf("a lost node acted: %v", calls)
	}

	register()
	n.mustPass()
	n.mustPass()
	wantTransitions(t, store, "web",
		"->pending:create", "pending->ready:all-running", "ready->lost:node-lost", "lost->pending:node-back", "pending->ready:all-running")
}

// The node-lost transition is written only over the status the pass saw:
// a status written meanwhile by someone else (an agent marking the node
// lost, say) stays, and the runner adopts it instead of overwriting it.
func TestRunnerWritesLostOnlyOverTheStatusItSaw(t *testing.T) {
	for _, meddle := range []bool{false, true} {
		t.Run(fmt.Sprintf("written-meanwhile=%v", meddle), func(t *testing.T) {
			n := newNode(t, state.NewMemoryStore(), fake.NewRuntime(), func(cfg *reconciler.RunnerConfig) {
				cfg.NodeLost = reconciler.LostWhenUnregistered("n1")
			})
			put(t, n.store, state.Keys.Node("n1"), `{"name":"n1"}`)
			put(t, n.store, state.Keys.App("n1", "web"), webSpec)
			for range 3 {
				n.mustPass()
			}
			del(t, n.store, state.Keys.Node("n1"))
			if err := n.runner.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			other := `{"app":"web","node":"n1","phase":"lost","transition":{"from":"ready","to":"lost","event":"node-lost","reason":"marked by another agent","time":"2026-01-01T00:00:00Z"}}`
			if meddle {
				put(t, n.store, state.Keys.Status("n1", "web"), other)
			}
			if err := n.runner.ReconcileOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			status, _ := currentStatus(t, n.store, "web")
			switch {
			case meddle && status.Transition.Reason != "marked by another agent":
				t.Fatalf("the runner overwrote a status written after its view: %+v", status.Transition)
			case !meddle && (status.Phase != state.Lost || status.Transition.Event != reconciler.EventNodeLost):
				t.Fatalf("status %s on %s, want lost by node-lost", status.Phase, status.Transition.Event)
			}
			// Registered again, the node brings the app back either way.
			put(t, n.store, state.Keys.Node("n1"), `{"name":"n1"}`)
			n.mustPass()
			if status, _ := currentStatus(t, n.store, "web"); status.Transition.Event != reconciler.EventNodeBack {
				t.Fatalf("after the node is back: %s by %s, want node-back", status.Phase, status.Transition.Event)
			}
		})
	}
}

// A lost status another agent wrote while this node kept running (its
// lease lapsed and came back between two of its passes) is adopted, and the
// app brought back, once and for good: the runner's own writes after it
// are not taken for another agent's.
func TestRunnerBringsBackAppsMarkedLostElsewhere(t *testing.T) {
	n := newNode(t, state.NewMemoryStore(), fake.NewRuntime(), func(cfg *reconciler.RunnerConfig) {
		cfg.NodeLost = reconciler.LostWhenUnregistered("n1")
	})
	put(t, n.store, state.Keys.Node("n1"), `{"name":"n1"}`)
	put(t, n.store, state.Keys.App("n1", "web"), webSpec)
	for range 3 {
		n.mustPass()
	}
	ready, _ := currentStatus(t, n.store, "web")
	lost, ok := reconciler.MarkLost(ready, "n1", "n2", scriptStart)
	if !ok {
		t.Fatalf("MarkLost refused a %s app", ready.Phase)
	}
	value, err := json.Marshal(lost)
	if err != nil {
		t.Fatal(err)
	}
	put(t, n.store, state.Keys.Status("n1", "web"), string(value))
	for range 4 {
		n.mustPass()
	}
	wantTransitions(t, n.store, "web",
		"->pending:create", "pending->ready:all-running", "ready->lost:node-lost",
		"lost->pending:node-back", "pending->ready:all-running")
}

// MarkLost moves only the phases the lifecycle lets a lost node leave.
func TestMarkLost(t *testing.T) {
	for phase, want := range map[state.Phase]bool{
		state.Pending: true, state.Ready: true, state.Failed: true, state.Terminating: true,
		state.Lost: false, state.Terminated: false, "unknown": false,
	} {
		got, ok := reconciler.MarkLost(state.AppStatus{App: "web", Phase: phase}, "n1", "n2", scriptStart)
		if ok != want {
			t.Fatalf("MarkLost from %s: %v, want %v", phase, ok, want)
		}
		if ok && (got.Phase != state.Lost || got.Transition.From != phase || got.Transition.Event != reconciler.EventNodeLost) {
			t.Fatalf("MarkLost from %s: %+v", phase, got)
		}
	}
}
