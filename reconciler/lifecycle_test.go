package reconciler

import (
	"slices"
	"testing"

	"github.com/sluice-io/sluice/state"
)

var allPhases = []state.Phase{
	phaseNone, state.Pending, state.Ready, state.Terminating, state.Terminated, state.Failed, state.Lost,
}

func allowed(event string, from state.Phase) (state.Phase, bool) {
	for _, row := range transitionTable {
		if row.Event == event && slices.Contains(row.Src, from) {
			return row.Dst, true
		}
	}
	return "", false
}

func TestLifecycleAcceptsEveryListedTransition(t *testing.T) {
	for _, row := range transitionTable {
		for _, from := range row.Src {
			life := newLifecycle(from)
			got, err := life.fire(row.Event)
			if err != nil {
				t.Errorf("%s from %q: %v", row.Event, from, err)
				continue
			}
			if got != from || life.phase() != row.Dst {
				t.Errorf("%s from %q: went %q -> %q, want %q -> %q", row.Event, from, got, life.phase(), from, row.Dst)
			}
		}
	}
}

func TestLifecycleRejectsEveryUnlistedTransition(t *testing.T) {
	events := map[string]bool{}
	for _, row := range transitionTable {
		events[row.Event] = true
	}
	rejected := 0
	for _, event := range state.SortedKeys(events) {
		for _, from := range allPhases {
			if _, ok := allowed(event, from); ok {
				continue
			}
			life := newLifecycle(from)
			if _, err := life.fire(event); err == nil {
				t.Errorf("%s from %q: accepted, the table does not list it", event, from)
			}
			if life.phase() != from {
				t.Errorf("%s from %q: a rejected event moved the phase to %q", event, from, life.phase())
			}
			rejected++
		}
	}
	if rejected == 0 {
		t.Fatal("the table allows every event from every phase; nothing was checked")
	}
}

func TestLifecycleRejectsUnknownEvent(t *testing.T) {
	life := newLifecycle(state.Ready)
	if _, err := life.fire("reboot"); err == nil {
		t.Fatal("an unknown event was accepted")
	}
}

// TestLifecycleTableShape pins the edges docs/lifecycle.md draws, so the
// picture and the code cannot drift apart silently.
func TestLifecycleTableShape(t *testing.T) {
	edges := []struct {
		event    string
		from, to state.Phase
	}{
		{EventCreate, phaseNone, state.Pending},
		{EventAllRunning, state.Pending, state.Ready},
		{EventAllRunning, state.Ready, state.Ready},
		{EventContainerFailed, state.Ready, state.Failed},
		{EventContainerFailed, state.Pending, state.Failed},
		{EventCreateFailed, state.Pending, state.Failed},
		{EventRestart, state.Failed, state.Pending},
		{EventDelete, state.Ready, state.Terminating},
		{EventRemoved, state.Terminating, state.Terminated},
		{EventNodeLost, state.Ready, state.Lost},
		{EventNodeBack, state.Lost, state.Pending},
		{EventSpecInvalid, state.Ready, state.Failed},
		{EventSpecChanged, state.Failed, state.Pending},
		{EventContainerMissing, state.Ready, state.Pending},
	}
	for _, edge := range edges {
		if got, ok := allowed(edge.event, edge.from); !ok || got != edge.to {
			t.Errorf("%s from %q: got %q (allowed %v), want %q", edge.event, edge.from, got, ok, edge.to)
		}
	}
	forbidden := []struct {
		event string
		from  state.Phase
	}{
		{EventAllRunning, state.Failed},
		{EventRestart, state.Ready},
		{EventRemoved, state.Ready},
		{EventNodeLost, state.Terminated},
	}
	for _, edge := range forbidden {
		if _, ok := allowed(edge.event, edge.from); ok {
			t.Errorf("%s from %q must not be allowed", edge.event, edge.from)
		}
	}
}
