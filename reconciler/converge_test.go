package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// randomApps builds a node's worth of specs and a decision from a seed.
func randomApps(rng *rand.Rand) ([]state.AppSpec, state.Decision) {
	decision := state.Decision{Node: "n1", Containers: map[string]state.ContainerDecision{}}
	var apps []state.AppSpec
	for a := range 1 + rng.IntN(4) {
		app := state.AppSpec{Name: fmt.Sprintf("app%d", a)}
		for c := range 1 + rng.IntN(3) {
			spec := state.ContainerSpec{Name: fmt.Sprintf("c%d", c), Image: "img", Class: state.BestEffort}
			if rng.IntN(2) == 0 {
				quota := float64(1+rng.IntN(8)) / 4
				spec.Resources.CPUQuotaCores = &quota
			}
			if c > 0 && rng.IntN(2) == 0 {
				spec.Parent = "c0"
			}
			if rng.IntN(2) == 0 {
				quota := float64(1+rng.IntN(8)) / 10
				mbit := float64(1 + rng.IntN(100))
				decision.Containers[state.ContainerID(app.Name, spec.Name)] = state.ContainerDecision{CPUQuotaCores: &quota, NetMbit: &mbit}
			}
			app.Containers = append(app.Containers, spec)
		}
		apps = append(apps, app)
	}
	return apps, decision
}

// TestStepConvergesAndThenDoesNothing checks the level-triggered contract on
// random nodes: a few passes converge, and from then on Step asks for
// nothing and writes nothing, also after a crash has been recovered.
func TestStepConvergesAndThenDoesNothing(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 1))
		h := newCoreHarness()
		apps, decision := randomApps(rng)
		for _, app := range apps {
			value, _ := json.Marshal(app)
			h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: state.Keys.App("", app.Name), Value: value})
		}
		value, _ := json.Marshal(decision)
		h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: state.Keys.Decision("n1"), Value: value})

		converge(t, h, seed)
		victim := state.ContainerID(apps[0].Name, apps[0].Containers[0].Name)
		if err := h.runtime.Kill(victim, 1, false); err != nil {
			t.Fatal(err)
		}
		converge(t, h, seed)
		if phase, _ := h.core.Phase(apps[0].Name); phase != state.Failed {
			t.Fatalf("seed %d: %s is %s after a crash, want failed until its backoff ends", seed, apps[0].Name, phase)
		}
		h.now = h.now.Add(time.Hour)
		converge(t, h, seed)
		if phase, _ := h.core.Phase(apps[0].Name); phase != state.Ready {
			t.Fatalf("seed %d: %s is %s after recovering from a crash", seed, apps[0].Name, phase)
		}
	}
}

func converge(t *testing.T, h *coreHarness, seed uint64) {
	t.Helper()
	ctx := context.Background()
	for pass := 0; ; pass++ {
		in, err := h.input(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ready := h.core.Step(in)
		if ready.Converged() {
			break
		}
		if pass == 5 {
			t.Fatalf("seed %d: not converged after 5 passes; still asks for %v and %d statuses", seed, ready.Actions, len(ready.Statuses))
		}
		if failures := h.execute(ctx, ready.Actions); len(failures) > 0 {
			t.Fatalf("seed %d: %v", seed, failures)
		}
	}
	h.runtime.ResetCalls()
	for range 3 {
		in, _ := h.input(ctx)
		if ready := h.core.Step(in); !ready.Converged() {
			t.Fatalf("seed %d: a converged node asked for %v and %v", seed, ready.Actions, ready.Statuses)
		}
	}
	if calls := h.runtime.Calls(); len(calls) > 0 {
		t.Fatalf("seed %d: calls after convergence: %v", seed, calls)
	}
}
