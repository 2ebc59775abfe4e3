package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// BenchmarkStepConverged20 measures one Step over a converged node of 20
// containers with a decision for each: the cost of a pass with nothing to
// do, which an idle agent pays at every wake.
func BenchmarkStepConverged20(b *testing.B) {
	h := newCoreHarness()
	decision := state.Decision{Node: "n1", Containers: map[string]state.ContainerDecision{}}
	for a := range 10 {
		app := state.AppSpec{Name: fmt.Sprintf("app%d", a)}
		for c := range 2 {
			app.Containers = append(app.Containers, state.ContainerSpec{Name: fmt.Sprintf("c%d", c), Image: "img", Class: state.BestEffort, CPUSet: "0"})
			quota := 0.5
			decision.Containers[state.ContainerID(app.Name, app.Containers[c].Name)] = state.ContainerDecision{CPUQuotaCores: &quota}
		}
		value, _ := json.Marshal(app)
		h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: state.Keys.App("", app.Name), Value: value})
	}
	value, _ := json.Marshal(decision)
	h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: state.Keys.Decision("n1"), Value: value})
	ctx := context.Background()
	for range 4 {
		in, _ := h.input(ctx)
		h.execute(ctx, h.core.Step(in).Actions)
	}
	in, err := h.input(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if ready := h.core.Step(in); !ready.Converged() {
		b.Fatalf("node not converged: %v", ready.Actions)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.core.Step(in)
	}
}
