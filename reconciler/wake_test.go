package reconciler_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// countingRuntime counts listings: one per pass.
type countingRuntime struct {
	*fake.Runtime
	lists atomic.Int64
}

func (c *countingRuntime) List(ctx context.Context) ([]state.Container, error) {
	c.lists.Add(1)
	return c.Runtime.List(ctx)
}

// TestRunnerWakesOnlyForWhatCanChangeAPass writes what a quiet node's
// agent writes every tick, its observation, and the keys no pass reads
// (the policy error, the runner's own statuses come back the same way): no
// pass follows. The policy writes a decision only when it changes, so a
// new decision wakes the runner at once.
func TestRunnerWakesOnlyForWhatCanChangeAPass(t *testing.T) {
	store := state.NewMemoryStore()
	runtime := &countingRuntime{Runtime: fake.NewRuntime()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Follower: follow(ctx, store, "n1"),
		Runtime: runtime, CPU: fake.NewCPU(runtime.Runtime),
		Random:         rand.NewChaCha8([32]byte{5}),
		ResyncInterval: time.Hour, // every pass below must come from a wake
	})
	go runner.Run(ctx)

	decision := func(revision int, hogQuota string) string {
		return fmt.Sprintf(`{"node":"n1","revision":%d,"time":"2026-01-01T00:00:%02dZ","containers":{"web/hog":{"cpu_quota_cores":%s}}}`,
			revision, revision, hogQuota)
	}
	put(t, store, state.Keys.Decision("n1"), decision(1, "0.5"))
	put(t, store, state.Keys.App("", "web"), webSpec)
	waitFor(t, "web ready", phaseIs(t, store, "web", state.Ready))
	waitFor(t, "the hog capped", func() bool { return runtime.CountCalls("set-cpu", "web/hog") == 1 })
	time.Sleep(50 * time.Millisecond) // the pass that follows a pass that worked
	settled := runtime.lists.Load()

	for rev := 2; rev <= 6; rev++ {
		put(t, store, state.Keys.Observation("n1"), `{"node":"n1"}`)
		put(t, store, state.Keys.PolicyError("n1"), fmt.Sprintf(`{"node":"n1","revision":%d,"error":"policy failed"}`, rev))
		put(t, store, state.Keys.Decision("n2"), decision(rev, "0.1"))
	}
	time.Sleep(100 * time.Millisecond)
	if passes := runtime.lists.Load() - settled; passes != 0 {
		t.Fatalf("%d passes after writes that cannot change a pass, want none", passes)
	}

	put(t, store, state.Keys.Decision("n1"), decision(7, "0.25"))
	waitFor(t, "the new cap applied", func() bool { return runtime.CountCalls("set-cpu", "web/hog") == 2 })
	if passes := runtime.lists.Load() - settled; passes == 0 {
		t.Fatal("a changed cap was applied without a pass")
	}
}
