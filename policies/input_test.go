package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// An engine reuses a node's layout while its containers stay the same; any
// change to what the layout holds must rebuild it. Each step changes the
// view and compares the cached input with one built from scratch.
func TestCachedLayoutFollowsEveryChange(t *testing.T) {
	view := busyNodeView()
	cache := newLayouts()
	steps := []struct {
		name   string
		change func(v *state.View)
	}{
		{"first tick", func(*state.View) {}},
		{"observations move", func(v *state.View) {
			setObserved(v, func(c *state.ContainerObservation) { c.CPUUsageCores += 0.123; c.ThrottledSeconds = 0 })
		}},
		{"a cpuset in force changes", func(v *state.View) {
			setObserved(v, func(c *state.ContainerObservation) {
				if c.ID == "spread/worker0" {
					c.CPUSet = "0-1"
				}
			})
		}},
		{"a spec asks for a quota", func(v *state.View) {
			app := v.Apps["batch0"]
			app.Containers = append([]state.ContainerSpec(nil), app.Containers...)
			app.Containers[0].Resources.CPUQuotaCores = ptr(0.5)
			v.Apps["batch0"] = app
		}},
		{"a class changes", func(v *state.View) {
			app := v.Apps["batch1"]
			app.Containers = append([]state.ContainerSpec(nil), app.Containers...)
			app.Containers[1].Class = state.LatencyCritical
			v.Apps["batch1"] = app
		}},
		{"a container is no longer observed", func(v *state.View) {
			obs := v.Observations[testNode]
			obs.Containers = obs.Containers[1:]
			v.Observations[testNode] = obs
		}},
		{"an app goes", func(v *state.View) { delete(v.Apps, "batch2") }},
		{"the node grows", func(v *state.View) {
			info := v.Nodes[testNode]
			info.Capacity.CPUs = 16
			v.Nodes[testNode] = info
		}},
	}
	for _, step := range steps {
		step.change(view)
		cached, err := buildInput(view, testNode, cache)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		fresh, err := Input(view, testNode)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if cached.Compare(fresh) != 0 {
			t.Fatalf("%s: the cached layout gave\n%v\nwhere a fresh one gives\n%v", step.name, cached, fresh)
		}
	}
}

func setObserved(v *state.View, change func(c *state.ContainerObservation)) {
	obs := v.Observations[testNode]
	obs.Containers = append([]state.ContainerObservation(nil), obs.Containers...)
	for i := range obs.Containers {
		change(&obs.Containers[i])
	}
	v.Observations[testNode] = obs
}

// Several goroutines may decide with one engine at once (the layouts it
// caches are shared); run with -race.
func TestConcurrentDecisionsAgree(t *testing.T) {
	engine := defaultEngine(t)
	views := []*state.View{busyNodeView(), calmNodeView()}
	want := make([][]byte, len(views))
	for i, view := range views {
		want[i] = decisionJSON(t, engine, view)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				at := (g + i) % len(views)
				d, err := engine.Decide(context.Background(), views[at], testNode)
				if err == nil {
					var got []byte
					got, err = json.Marshal(d)
					if err == nil && !bytes.Equal(got, want[at]) {
						err = fmt.Errorf("view %d: got %s, want %s", at, got, want[at])
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func decisionJSON(t *testing.T, engine *Engine, view *state.View) []byte {
	t.Helper()
	d, err := engine.Decide(context.Background(), view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
