package agent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// When a node's agent stops, another node's agent marks its apps lost; when
// it runs again, its apps come back to ready.
func TestAnotherAgentMarksAStoppedNodesAppsLost(t *testing.T) {
	store := state.NewMemoryStore()
	for _, name := range []string{"n1", "n2"} {
		put(t, store, state.Keys.App(name, "hog"), []byte(`{"name":"hog","node":"`+name+`","containers":[
			{"name":"cpuhog","image":"sluice/cpuhog:dev","class":"best-effort","demand":{"kind":"constant","value":1.0}}]}`))
	}
	stopN1 := runSimAgent(t, store, "n1")
	defer stopN1()
	stopN2 := runSimAgent(t, store, "n2")
	waitPhase(t, store, "n2", "hog", state.Ready)

	stopN2()
	waitPhase(t, store, "n2", "hog", state.Lost)
	stopN2 = runSimAgent(t, store, "n2")
	defer stopN2()
	waitPhase(t, store, "n2", "hog", state.Ready)
	waitPhase(t, store, "n1", "hog", state.Ready)
}

// runSimAgent runs the agent of a simulated node until the returned stop is
// called, which waits for it to end.
func runSimAgent(t *testing.T, store state.Store, name string) (stop func()) {
	t.Helper()
	simNode, err := sim.NewNode(sim.NodeConfig{Name: name, CPUs: 2, Epoch: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(context.Background(), store, agent.NewSimNode(simNode, 100*time.Millisecond),
		agent.Config{Node: name, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent %s: %v", name, err)
		}
	}
}

func waitPhase(t *testing.T, store state.Store, node, app string, want state.Phase) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var status state.AppStatus
	for time.Now().Before(deadline) {
		kv, found, _, err := store.Get(context.Background(), state.Keys.Status(node, app))
		if err != nil {
			t.Fatal(err)
		}
		if found {
			if err := json.Unmarshal(kv.Value, &status); err != nil {
				t.Fatal(err)
			}
			if status.Phase == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s on %s is %q after 10 s, want %s", app, node, status.Phase, want)
}
