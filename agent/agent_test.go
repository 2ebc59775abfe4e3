package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

const node = "n1"

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newSimAgent(t testing.TB, store state.Store, opts ...agent.Option) (*agent.Agent, *sim.Node) {
	t.Helper()
	simNode, err := sim.NewNode(sim.NodeConfig{Name: node, CPUs: 2, Epoch: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(context.Background(), store, agent.NewSimNode(simNode, 250*time.Millisecond),
		agent.Config{Node: node, Interval: 250 * time.Millisecond}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, simNode
}

func putFile(t testing.TB, store state.Store, key, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	put(t, store, key, data)
}

func put(t testing.TB, store state.Store, key string, value []byte) int64 {
	t.Helper()
	rev, err := store.Txn(context.Background(), state.Put(key, value))
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func view(t testing.TB, store state.Store) state.View {
	t.Helper()
	v, err := state.LoadView(context.Background(), store, node)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A stepped agent observes, records, decides on the view that holds its
// observation and reconciles, all in the caller's goroutine: the victim
// and the hog run, and the hog gets the shield's lowest weight.
func TestStepObservesDecidesAndReconciles(t *testing.T) {
	store := state.NewMemoryStore()
	a, _ := newSimAgent(t, store)
	putFile(t, store, state.Keys.App(node, "victim"), "../examples/apps/shield-sine-victim.json")
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	ctx := context.Background()
	for range 8 {
		result, err := a.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if result.Revision == 0 {
			t.Fatal("a step against a live store left its observation in the buffer")
		}
	}
	v := view(t, store)
	for _, app := range []string{"victim", "hog"} {
		if phase := v.Statuses[app].Phase; phase != state.Ready {
			t.Errorf("%s is %q after 8 steps, want ready", app, phase)
		}
	}
	hog := v.Decisions[node].Containers["hog/cpuhog"]
	if hog.CPUShares == nil || *hog.CPUShares != 2 {
		t.Errorf("the hog's decided weight = %v, want 2 (the shield's lowest)", hog.CPUShares)
	}
}

// A policy that always decides the same writes one decision, however many
// steps follow: the log holds changes, not repetitions.
func TestStepWritesADecisionOnlyWhenItChanges(t *testing.T) {
	store := state.NewMemoryStore()
	bundle, err := policies.LoadFiles(map[string][]byte{"fixed.rego": []byte(`package sluice.shield

decision := {"containers": {}, "reasons": []}
`)})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := newSimAgent(t, store, agent.WithPolicyBundle(bundle))
	decided := 0
	for range 5 {
		result, err := a.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if result.Decided {
			decided++
		}
	}
	if decided != 1 {
		t.Fatalf("%d of 5 steps wrote a decision, want 1: the decision never changes", decided)
	}
	if events := history(t, store, state.Keys.Decision(node), view(t, store).Revision); len(events) != 1 {
		t.Fatalf("%d decision events in the log, want 1", len(events))
	}
}

// A bundle under /sluice/policies/ that does not compile is recorded once
// as the node's policy error, and the last good bundle goes on deciding;
// deleting it clears the error with the next good decision.
func TestStepRecordsARejectedBundleOnceAndClearsIt(t *testing.T) {
	store := state.NewMemoryStore()
	a, _ := newSimAgent(t, store)
	ctx := context.Background()
	step := func() {
		t.Helper()
		if _, err := a.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step()
	put(t, store, state.Keys.Policy("broken.rego"), []byte("package sluice.shield\n\ndecision := {"))
	for range 3 {
		step()
	}
	events := history(t, store, state.Keys.PolicyError(node), view(t, store).Revision)
	if len(events) != 1 {
		t.Fatalf("%d policy error events for one broken bundle, want 1", len(events))
	}
	var failure state.PolicyError
	if err := json.Unmarshal(events[0].Value, &failure); err != nil || failure.Stage != policies.StageCompile {
		t.Fatalf("policy error %s (%v), want a compile-stage error", events[0].Value, err)
	}
	if _, err := store.Txn(ctx, state.Delete(state.Keys.Policy("broken.rego"))); err != nil {
		t.Fatal(err)
	}
	step()
	if _, failed := view(t, store).PolicyErrors[node]; failed {
		t.Fatal("the policy error stays after the broken bundle is gone and a good decision followed")
	}
}

// A running agent decides on the follower's view, which must hold the
// observation it just wrote: every decision is stamped with the time of an
// observation written at or before the decision's revision.
func TestRunDecidesOnTheObservationItWrote(t *testing.T) {
	store := state.NewMemoryStore()
	a, _ := newSimAgent(t, store)
	putFile(t, store, state.Keys.App(node, "victim"), "../examples/apps/shield-sine-victim.json")
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(3 * time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	rev := view(t, store).Revision
	observed := map[time.Time]int64{}
	for _, ev := range history(t, store, state.Keys.Observation(node), rev) {
		var obs state.Observation
		if err := json.Unmarshal(ev.Value, &obs); err != nil {
			t.Fatal(err)
		}
		observed[obs.Time] = ev.Revision
	}
	decisions := history(t, store, state.Keys.Decision(node), rev)
	if len(decisions) < 3 || len(observed) < 6 {
		t.Fatalf("%d decisions on %d observations in 3 s at a 250 ms interval, want a loop that ran", len(decisions), len(observed))
	}
	for _, ev := range decisions {
		var d state.Decision
		if err := json.Unmarshal(ev.Value, &d); err != nil {
			t.Fatal(err)
		}
		at, ok := observed[d.Time]
		if !ok || d.Revision < at {
			t.Errorf("decision on view %d stamped %v: its observation was written at %d (found %v)", d.Revision, d.Time, at, ok)
		}
	}
}

func history(t testing.TB, store state.Store, key string, rev int64) []state.Event {
	t.Helper()
	events, err := state.History(context.Background(), store, key, rev)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// refusingStore refuses its first leases, as an etcd that is not up yet.
type refusingStore struct {
	state.Store
	refusals atomic.Int32
}

func (s *refusingStore) Grant(ctx context.Context, ttlSeconds int64) (int64, error) {
	if s.refusals.Add(-1) >= 0 {
		return 0, errors.New("etcd is not up yet")
	}
	return s.Store.Grant(ctx, ttlSeconds)
}

// An agent that cannot register at once tries again instead of giving up,
// and runs its loop once it has.
func TestRunRegistersOnceTheStoreAnswers(t *testing.T) {
	store := &refusingStore{Store: state.NewMemoryStore()}
	store.refusals.Store(2)
	simNode, err := sim.NewNode(sim.NodeConfig{Name: node, CPUs: 2, Epoch: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(context.Background(), store, agent.NewSimNode(simNode, 250*time.Millisecond),
		agent.Config{Node: node, Interval: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := view(t, store).Nodes[node]; ok {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run gave up: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the node never registered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
