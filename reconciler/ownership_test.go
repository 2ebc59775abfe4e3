package reconciler_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// A claimed node's containers keep the label of the store that made them,
// so an agent that restarts on the claimed store must know of the claim
// before its first pass, or it would take them for another store's and
// start the app a second time beside them.
func TestRunnerOnAClaimedNodeAdoptsFromItsFirstPass(t *testing.T) {
	ctx := context.Background()
	store, runtime := state.NewMemoryStore(), fake.NewRuntime()
	runtime.Store = "store-b"
	put(t, store, state.Keys.App("", "web"), webSpec)
	var spec state.AppSpec
	if err := json.Unmarshal([]byte(webSpec), &spec); err != nil {
		t.Fatal(err)
	}
	for _, container := range spec.Containers {
		runtime.Add(state.Container{
			ID: state.ContainerID("web", container.Name), App: "web", Name: container.Name, Running: true,
			SpecHash: reconciler.SpecHash(container), Store: "store-a",
		}, state.CPUResources{CPUSet: container.CPUSet})
	}
	if _, err := state.PutClaim(ctx, store, state.NodeClaim{Node: "n1", Time: scriptStart}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		agent := newOwnedNode(t, store, runtime, "store-b")
		runtime.ResetCalls()
		agent.mustPass()
		agent.mustPass()
		if calls := runtime.Calls(); len(calls) != 0 {
			t.Fatalf("the agent acted on the claimed containers:\n%s", fake.FormatCalls(calls))
		}
		if phase, _ := agent.runner.Phase("web"); phase != state.Ready {
			t.Fatalf("web is %q, want ready on the adopted containers", phase)
		}
	}
}

// Unclaimed, the same node holds everything; the claim reaches the runner
// through its view, with no read of its own.
func TestRunnerHoldsUntilTheClaimIsWritten(t *testing.T) {
	ctx := context.Background()
	store, runtime := state.NewMemoryStore(), fake.NewRuntime()
	runtime.Add(state.Container{ID: "old/job", App: "old", Name: "job", Running: true, Store: "store-a"}, state.CPUResources{})
	agent := newOwnedNode(t, store, runtime, "store-b")
	for range 3 {
		agent.mustPass()
	}
	if calls := runtime.Calls(); len(calls) != 0 {
		t.Fatalf("the agent acted before the claim:\n%s", fake.FormatCalls(calls))
	}
	if _, err := state.PutClaim(ctx, store, state.NodeClaim{Node: "n1", Time: scriptStart}); err != nil {
		t.Fatal(err)
	}
	agent.mustPass()
	if n := runtime.CountCalls("remove", "old/job"); n != 1 {
		t.Fatalf("old/job removed %d times after the claim, want once:\n%s", n, fake.FormatCalls(runtime.Calls()))
	}
}

// An agent started to claim its containers takes them without a claim in
// the store.
func TestRunnerClaimContainersTakesTheNodeAtStart(t *testing.T) {
	store, runtime := state.NewMemoryStore(), fake.NewRuntime()
	runtime.Add(state.Container{ID: "old/job", App: "old", Name: "job", Running: true, Store: "store-a"}, state.CPUResources{})
	agent := newOwnedNode(t, store, runtime, "store-b")
	agent.runner = reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime, CPU: fake.NewCPU(runtime), Clock: agent.clock,
		StoreID: "store-b", ClaimContainers: true,
	})
	agent.mustPass()
	if n := runtime.CountCalls("remove", "old/job"); n != 1 {
		t.Fatalf("old/job removed %d times by a claiming agent, want once:\n%s", n, fake.FormatCalls(runtime.Calls()))
	}
}

func newOwnedNode(t *testing.T, store state.Store, runtime *fake.Runtime, storeID string) *node {
	n := &node{t: t, store: store, runtime: runtime, clock: &manualClock{now: scriptStart.Add(time.Hour)}}
	n.runner = reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime, CPU: fake.NewCPU(runtime), Clock: n.clock, StoreID: storeID,
	})
	return n
}
