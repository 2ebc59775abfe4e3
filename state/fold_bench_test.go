package state_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// benchStream is what one node of 20 containers writes over ticks ticks:
// an observation and a decision per tick, as a recording holds them.
func benchStream(b *testing.B, ticks int) []state.Event {
	b.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []state.Event
	rev := int64(1)
	add := func(key string, value any) {
		raw, err := json.Marshal(value)
		if err != nil {
			b.Fatal(err)
		}
		rev++
		events = append(events, state.Event{Revision: rev, Key: key, Value: raw})
	}
	for tick := range ticks {
		now := start.Add(time.Duration(tick) * 250 * time.Millisecond)
		obs := state.Observation{Node: "n1", Time: now, IntervalSeconds: 0.25,
			Host: state.HostObservation{CPUs: 4, CPUUsageCores: 3.2}}
		decision := state.Decision{Node: "n1", Revision: rev, Time: now, BundleDigest: "sha256:abc",
			Containers: map[string]state.ContainerDecision{}}
		for c := range 20 {
			id := state.ContainerID(fmt.Sprintf("app%d", c/2), fmt.Sprintf("c%d", c))
			quota := 0.5
			obs.Containers = append(obs.Containers, state.ContainerObservation{
				ID: id, App: fmt.Sprintf("app%d", c/2), Name: fmt.Sprintf("c%d", c), Class: state.BestEffort,
				CPUSet: "0-3", CPUUsageCores: 0.15, RunQueueWaitCores: 0.02, CPUQuotaCores: &quota, CPUShares: 1024,
			})
			decision.Containers[id] = state.ContainerDecision{CPUQuotaCores: &quota}
		}
		decision.Reasons = []state.Reason{{Rule: "cap_best_effort", Container: "app0/c0", Message: "victim waits",
			Values: map[string]float64{"wait_ratio": 0.12, "satisfaction": 0.88}}}
		add(state.Keys.Observation("n1"), obs)
		add(state.Keys.Decision("n1"), decision)
	}
	return events
}

// BenchmarkFold measures how fast a reader (replay, the policy step) turns a
// recorded stream into a View.
func BenchmarkFold(b *testing.B) {
	events := benchStream(b, 500)
	folded := 0
	for b.Loop() {
		view := state.Fold("n1", events...)
		if len(view.Errors) != 0 {
			b.Fatalf("benchmark stream does not fold cleanly: %v", view.Errors)
		}
		folded += len(events)
	}
	b.ReportMetric(float64(folded)/b.Elapsed().Seconds(), "events/s")
}
