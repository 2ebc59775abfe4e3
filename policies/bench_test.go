package policies

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// busyNodeView is a node of 8 CPUs running 20 containers: 4 latency-critical
// ones pinned to CPUs 0-3, each sharing its CPU with 3 pinned best-effort
// ones, and 4 unpinned best-effort ones running anywhere. Every victim is
// under pressure and the previous decision carries state, so every rule of
// the shield fires.
func busyNodeView() *state.View {
	view := state.NewView(testNode)
	view.Revision = 1000
	view.Nodes[testNode] = state.NodeInfo{Name: testNode, Capacity: state.Capacity{CPUs: 8}}
	obs := state.Observation{Node: testNode, Time: testTime, IntervalSeconds: 0.25, Host: state.HostObservation{CPUs: 8}}
	carry := map[string]any{}
	add := func(app, name string, class state.Class, cpuset string, usage, wait float64) {
		spec := view.Apps[app]
		spec.Name = app
		spec.Containers = append(spec.Containers, state.ContainerSpec{Name: name, Image: "img", Class: class, CPUSet: cpuset})
		view.Apps[app] = spec
		obs.Containers = append(obs.Containers, state.ContainerObservation{
			ID: state.ContainerID(app, name), App: app, Name: name, Class: class, CPUSet: cpuset,
			CPUUsageCores: usage, RunQueueWaitCores: wait, ThrottledSeconds: 0.01,
		})
	}
	for cpu := range 4 {
		app := "svc" + strconv.Itoa(cpu)
		add(app, "api", state.LatencyCritical, strconv.Itoa(cpu), 0.4, 0.2)
		carry[app+"/api"] = map[string]any{"wanted_now_millicores": 500.0, "budget_millicores": 300.0}
		for i := range 3 {
			add("batch"+strconv.Itoa(cpu), fmt.Sprintf("job%d", i), state.BestEffort, strconv.Itoa(cpu), 0.2, 0.3)
		}
	}
	for i := range 4 {
		add("spread", fmt.Sprintf("worker%d", i), state.BestEffort, "", 1, 0.5)
	}
	view.Observations[testNode] = obs
	view.Decisions[testNode] = state.Decision{Node: testNode, Revision: 999, Carry: map[string]any{"victims": carry}}
	return &view
}

// calmNodeView is the same node on a quiet tick: nobody waits, nobody is
// capped, the common case.
func calmNodeView() *state.View {
	view := busyNodeView()
	obs := view.Observations[testNode]
	obs.Containers = append([]state.ContainerObservation(nil), obs.Containers...)
	for i := range obs.Containers {
		obs.Containers[i].RunQueueWaitCores = 0
		obs.Containers[i].ThrottledSeconds = 0
		obs.Containers[i].CPUUsageCores = 0.2
	}
	view.Observations[testNode] = obs
	delete(view.Decisions, testNode)
	return view
}

// BenchmarkDecide measures one decision, input to validated output: on the
// headline node (a victim and a hog), and on a node of 20 containers on a
// calm tick and on a tick where every victim is shielded. containers=20,
// the busy tick, is the one `make bench` holds to its target.
func BenchmarkDecide(b *testing.B) {
	for _, bc := range []struct {
		name    string
		view    *state.View
		capped  int
		reasons int
	}{
		{"containers=2", contendedView(), 1, 1},
		{"containers=20-calm", calmNodeView(), 0, 0},
		{"containers=20", busyNodeView(), 16, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			engine := defaultEngine(b)
			ctx := context.Background()
			d, err := engine.Decide(ctx, bc.view, testNode)
			if err != nil {
				b.Fatal(err)
			}
			if capped := cappedCount(d); capped != bc.capped || len(d.Reasons) != bc.reasons {
				b.Fatalf("decision caps %d containers with %d reasons, want %d and %d", capped, len(d.Reasons), bc.capped, bc.reasons)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := engine.Decide(ctx, bc.view, testNode); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cappedCount is how many containers a decision gives a quota; every
// best-effort container is in it, for its weight.
func cappedCount(d state.Decision) int {
	capped := 0
	for _, c := range d.Containers {
		if c.CPUQuotaCores != nil {
			capped++
		}
	}
	return capped
}

// BenchmarkInput measures building the input of the busy node: from
// scratch (Input, a new layout) and as Decide builds it, with the node's
// layout cached from the previous tick.
func BenchmarkInput(b *testing.B) {
	view := busyNodeView()
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Input(view, testNode); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-layout", func(b *testing.B) {
		cache := newLayouts()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := buildInput(view, testNode, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
}
