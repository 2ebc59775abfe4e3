package policies

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

const testNode = "node-1"

var testTime = time.Date(2030, 1, 2, 3, 4, 5, 250_000_000, time.UTC)

// sineView is the headline case: a latency-critical victim and a CPU hog
// pinned to the one CPU of the node, as the sensors saw them over a tick.
func sineView(victim, hog state.ContainerObservation) *state.View {
	view := state.NewView(testNode)
	view.Revision = 42
	view.Nodes[testNode] = state.NodeInfo{Name: testNode, Capacity: state.Capacity{CPUs: 1, NetMbit: 1000}}
	view.Apps["shop"] = state.AppSpec{Name: "shop", Containers: []state.ContainerSpec{
		{Name: "victim", Image: "sineload", Class: state.LatencyCritical, CPUSet: "0"},
	}}
	view.Apps["batch"] = state.AppSpec{Name: "batch", Containers: []state.ContainerSpec{
		{Name: "hog", Image: "cpuhog", Class: state.BestEffort, CPUSet: "0"},
	}}
	victim.ID, victim.App, victim.Name, victim.Class, victim.CPUSet = "shop/victim", "shop", "victim", state.LatencyCritical, "0"
	hog.ID, hog.App, hog.Name, hog.Class, hog.CPUSet = "batch/hog", "batch", "hog", state.BestEffort, "0"
	view.Observations[testNode] = state.Observation{
		Node:            testNode,
		Time:            testTime,
		IntervalSeconds: 0.25,
		Host:            state.HostObservation{CPUs: 1, CPUUsageCores: victim.CPUUsageCores + hog.CPUUsageCores},
		Containers:      []state.ContainerObservation{hog, victim},
	}
	return &view
}

// contendedView has the victim wanting 0.7 cores and getting the 0.5 CFS
// gives it against the hog.
func contendedView() *state.View {
	return sineView(
		state.ContainerObservation{CPUUsageCores: 0.5, RunQueueWaitCores: 0.2},
		state.ContainerObservation{CPUUsageCores: 0.5, RunQueueWaitCores: 0.5},
	)
}

func defaultEngine(t testing.TB) *Engine {
	t.Helper()
	b, err := LoadDir(".")
	if err != nil {
		t.Fatalf("load the policy dir: %v", err)
	}
	e, err := NewEngine(context.Background(), b)
	if err != nil {
		t.Fatalf("compile the policy dir: %v", err)
	}
	return e
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
