package reconciler

import (
	"context"
	"errors"
	"fmt"

	"github.com/looplab/fsm"

	"github.com/sluice-io/sluice/state"
)

// Lifecycle events: the names recorded in state.Transition.Event. Each one is
// a fact the core observed in the desired and actual state, never the event
// that woke the runner.
const (
	// EventCreate: a valid spec exists for an app that has no lifecycle yet,
	// or whose last one ended (terminating or terminated).
	EventCreate = "create"
	// EventAllRunning: every container of the spec runs with the spec's
	// hash. From ready it only records that afresh, over a stale status
	// adopted from an earlier agent or for a spec revision whose edit was
	// applied to the running containers in place.
	EventAllRunning = "all-running"
	// EventContainerMissing: a ready app lost a container, or its spec
	// changed so that a container must be recreated.
	EventContainerMissing = "container-missing"
	// EventSpecChanged: a failed app got a new spec revision, which is
	// worth trying at once rather than after the backoff.
	EventSpecChanged = "spec-changed"
	// EventContainerFailed: a container exited, died or was OOM-killed.
	EventContainerFailed = "container-failed"
	// EventCreateFailed: the runtime refused to create a container.
	EventCreateFailed = "create-failed"
	// EventRestart: a failed app's backoff has elapsed, or a stale status
	// adopted from an earlier agent says failed where every container of
	// the spec runs again (that agent restarted it and stopped before
	// recording so).
	EventRestart = "restart"
	// EventSpecInvalid: the app's spec key holds a value the fold rejected,
	// and no good spec of the app is known to run instead. Its containers,
	// if any, are held as they are.
	EventSpecInvalid = "spec-invalid"
	// EventSpecRejected: the app's spec key holds a value the fold
	// rejected, and the last good spec stays in force: the phase does not
	// change, the status records the rejection.
	EventSpecRejected = "spec-rejected"
	// EventSpecAccepted: a rejected spec was replaced by a good one, or
	// its key deleted, and nothing else changes; the status drops the
	// rejection.
	EventSpecAccepted = "spec-accepted"
	// EventDelete: the app's spec is gone (or was never there for
	// containers found on the node).
	EventDelete = "delete"
	// EventRemoved: a terminating app has no containers left.
	EventRemoved = "removed"
	// EventNodeLost: the node's heartbeat expired.
	EventNodeLost = "node-lost"
	// EventNodeBack: the node heartbeats again.
	EventNodeBack = "node-back"
)

// phaseNone is the phase of an app the core has never seen a status for. It
// is recorded as the empty From of the app's first transition.
const phaseNone state.Phase = ""

// transitionTable is the app lifecycle. docs/lifecycle.md draws it; the
// FSM tests walk every row and every pair it does not list.
var transitionTable = []struct {
	Event string
	Src   []state.Phase
	Dst   state.Phase
}{
	{EventCreate, []state.Phase{phaseNone, state.Terminating, state.Terminated}, state.Pending},
	{EventAllRunning, []state.Phase{state.Pending, state.Ready}, state.Ready},
	{EventContainerMissing, []state.Phase{state.Ready}, state.Pending},
	{EventSpecChanged, []state.Phase{state.Failed}, state.Pending},
	{EventContainerFailed, []state.Phase{state.Pending, state.Ready}, state.Failed},
	{EventCreateFailed, []state.Phase{state.Pending}, state.Failed},
	{EventRestart, []state.Phase{state.Failed}, state.Pending},
	{EventSpecInvalid, []state.Phase{phaseNone, state.Pending, state.Ready, state.Failed, state.Terminating, state.Terminated}, state.Failed},
	{EventSpecRejected, []state.Phase{state.Pending}, state.Pending},
	{EventSpecRejected, []state.Phase{state.Ready}, state.Ready},
	{EventSpecRejected, []state.Phase{state.Failed}, state.Failed},
	{EventSpecAccepted, []state.Phase{state.Pending}, state.Pending},
	{EventSpecAccepted, []state.Phase{state.Ready}, state.Ready},
	{EventSpecAccepted, []state.Phase{state.Failed}, state.Failed},
	{EventDelete, []state.Phase{phaseNone, state.Pending, state.Ready, state.Failed, state.Terminated}, state.Terminating},
	{EventRemoved, []state.Phase{state.Terminating}, state.Terminated},
	{EventNodeLost, []state.Phase{state.Pending, state.Ready, state.Failed, state.Terminating}, state.Lost},
	{EventNodeBack, []state.Phase{state.Lost}, state.Pending},
}

func lifecycleEvents() fsm.Events {
	events := make(fsm.Events, 0, len(transitionTable))
	for _, row := range transitionTable {
		src := make([]string, len(row.Src))
		for i, phase := range row.Src {
			src[i] = string(phase)
		}
		events = append(events, fsm.EventDesc{Name: row.Event, Src: src, Dst: string(row.Dst)})
	}
	return events
}

// lifecycle is one app's state machine.
type lifecycle struct {
	machine *fsm.FSM
}

func newLifecycle(initial state.Phase) lifecycle {
	return lifecycle{machine: fsm.NewFSM(string(initial), lifecycleEvents(), nil)}
}

func (l lifecycle) phase() state.Phase { return state.Phase(l.machine.Current()) }

// fire moves the machine by event and returns the phase it left. A self
// transition (failed → failed on a new spec error) is allowed and reported
// as such; an event the current phase does not accept is an error, which
// the core treats as a bug in its own rules rather than something to act on.
func (l lifecycle) fire(event string) (from state.Phase, err error) {
	from = l.phase()
	// The machine has no callbacks, so the context carries nothing.
	err = l.machine.Event(context.Background(), event)
	var same fsm.NoTransitionError
	if err != nil && !errors.As(err, &same) {
		return from, fmt.Errorf("lifecycle event %q in phase %q: %w", event, from, err)
	}
	return from, nil
}
