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
		{"an SLO is set", func(v *state.View) {
			app := v.Apps["svc0"]
			app.Containers = append([]state.ContainerSpec(nil), app.Containers...)
			app.Containers[0].SLO = &state.SLOSpec{LatencyP99Ms: 20}
			v.Apps["svc0"] = app
		}},
		{"the SLO changes", func(v *state.View) {
			app := v.Apps["svc0"]
			app.Containers = append([]state.ContainerSpec(nil), app.Containers...)
			app.Containers[0].SLO = &state.SLOSpec{LatencyP99Ms: 12.5}
			v.Apps["svc0"] = app
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

// A container's SLO comes from its spec and its latency from the
// observation; the policy compares them, so both must reach the input with
// their values, and stay out of it when absent.
func TestInputCarriesTheSLOAndTheLatency(t *testing.T) {
	view := contendedView()
	view.Apps["shop"].Containers[0].SLO = &state.SLOSpec{LatencyP99Ms: 20}
	obs := view.Observations[testNode]
	obs.Containers = append([]state.ContainerObservation(nil), obs.Containers...)
	for i := range obs.Containers {
		if obs.Containers[i].ID == "shop/victim" {
			obs.Containers[i].Latency = &state.LatencyStats{Count: 40, Errors: 2, P50Ms: 1.5, P95Ms: 9, P99Ms: 21.0004, MaxMs: 30.25}
		}
	}
	view.Observations[testNode] = obs
	input, err := Input(view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Containers map[string]map[string]json.RawMessage `json:"containers"`
	}
	if err := json.Unmarshal([]byte(input.String()), &doc); err != nil {
		t.Fatal(err)
	}
	victim, hog := doc.Containers["shop/victim"], doc.Containers["batch/hog"]
	for field, want := range map[string]string{
		"slo": `{"latency_p99_ms":20}`,
		// Rounded to the microsecond; whole milliseconds are integers.
		"latency": `{"count":40,"errors":2,"max_ms":30.25,"p50_ms":1.5,"p95_ms":9,"p99_ms":21}`,
	} {
		var got bytes.Buffer
		if err := json.Compact(&got, victim[field]); err != nil || got.String() != want {
			t.Errorf("victim %s = %s, want %s", field, victim[field], want)
		}
		if got, ok := hog[field]; ok {
			t.Errorf("hog has %s = %s, want none (no SLO, no spans)", field, got)
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
