package reconciler

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluice-io/sluice/state"
)

// appState is what the core remembers about one app between Steps.
type appState struct {
	life lifecycle
	// since is the time of the last transition.
	since time.Time
	// readySince is when the app last became ready; zero when it is not.
	readySince time.Time
	// restarts counts restarts over the app's life (AppStatus.Restarts);
	// consecutive counts failures since the app last ran well, and sets
	// the backoff.
	restarts     int
	consecutive  int
	specRevision int64
	err          string
	// rejected is the spec rejection the app's status records.
	rejected *state.SpecRejection
	// counted holds the runtime IDs of dead containers already counted as
	// a failure, so one death fails the app once.
	counted map[string]bool
	// stale says how the status the app was adopted from differs from the
	// app as it is: an agent that stopped between acting and recording
	// leaves an older spec revision or containers that are gone. Empty
	// once a transition has recorded the app afresh.
	stale string
}

func newAppState() *appState {
	return &appState{life: newLifecycle(phaseNone), counted: map[string]bool{}}
}

// adopt takes over the lifecycle a stored status records, and notes
// whether the status still describes app.
func (a *appState) adopt(status state.AppStatus, app *appView) {
	if !knownPhase(status.Phase) {
		return
	}
	a.stale = staleness(status, app)
	a.life = newLifecycle(status.Phase)
	a.restarts = status.Restarts
	a.specRevision = status.SpecRevision
	a.err = status.Error
	a.rejected = status.Rejected
	if status.Transition != nil {
		a.since = status.Transition.Time
	}
	switch status.Phase {
	case state.Ready:
		a.readySince = a.since
	case state.Failed:
		// The number of failures in a row is not stored; assume every
		// restart was one, which errs towards waiting longer.
		a.consecutive = status.Restarts
	}
}

// staleness says how a stored status differs from the app as it is now:
// its spec revision, or its containers' runtime IDs and running flags.
// Empty means it is up to date.
func staleness(status state.AppStatus, app *appView) string {
	if app.spec != nil && status.SpecRevision != app.specRevision {
		return fmt.Sprintf("spec revision %d, now %d", status.SpecRevision, app.specRevision)
	}
	actual := containerStatuses(app)
	if !slices.EqualFunc(status.Containers, actual, sameContainerStatus) {
		return fmt.Sprintf("containers %s, now %s", describeContainers(status.Containers), describeContainers(actual))
	}
	return ""
}

func sameContainerStatus(a, b state.ContainerStatus) bool {
	return a.Name == b.Name && a.RuntimeID == b.RuntimeID && a.Running == b.Running
}

// describeContainers renders container statuses as
// "[api=3f2a9c1b7d4e running, db=9b1c0e2f4a6d stopped]".
func describeContainers(containers []state.ContainerStatus) string {
	parts := make([]string, len(containers))
	for i, c := range containers {
		condition := "stopped"
		if c.Running {
			condition = "running"
		}
		parts[i] = fmt.Sprintf("%s=%s %s", c.Name, state.ShortRuntimeID(c.RuntimeID), condition)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func knownPhase(phase state.Phase) bool {
	switch phase {
	case state.Pending, state.Ready, state.Terminating, state.Terminated, state.Failed, state.Lost:
		return true
	}
	return false
}

// forgetGone drops counted deaths of containers the runtime no longer
// lists, so the set stays as small as the app.
func (a *appState) forgetGone(app *appView) {
	listed := map[string]bool{}
	for _, container := range app.all {
		listed[container.RuntimeID] = true
	}
	for runtimeID := range a.counted {
		if !listed[runtimeID] {
			delete(a.counted, runtimeID)
		}
	}
}

func (a *appState) restartAt(backoff state.Backoff) time.Time {
	return a.since.Add(backoff.Delay(a.consecutive))
}

// change is one lifecycle event the core decided on, with why.
type change struct {
	event  string
	reason string
	err    string
}

// transition decides the app's next lifecycle event, fires it and returns
// the status to record. At most one event fires per Step: every write of a
// status is one transition, and one Txn cannot write a key twice.
func (c *Core) transition(in Input, a *appState, app *appView) (state.AppStatus, bool) {
	next, ok := c.decide(in, a, app)
	if !ok {
		return state.AppStatus{}, false
	}
	from, err := a.life.fire(next.event)
	if err != nil {
		// decide only picks events the phase accepts; the FSM tests hold
		// both to the table. Recording nothing beats recording a lie.
		return state.AppStatus{}, false
	}
	c.afterTransition(in.Now, a, app, next)
	return state.AppStatus{
		App:          app.name,
		Node:         c.node,
		Phase:        a.life.phase(),
		Error:        a.err,
		SpecRevision: a.specRevision,
		Containers:   containerStatuses(app),
		Restarts:     a.restarts,
		Rejected:     a.rejected,
		Transition: &state.Transition{
			From: from, To: a.life.phase(), Event: next.event, Reason: next.reason, Time: in.Now,
		},
	}, true
}

func (c *Core) afterTransition(now time.Time, a *appState, app *appView, next change) {
	switch next.event {
	case EventContainerFailed, EventCreateFailed:
		if !a.readySince.IsZero() && now.Sub(a.readySince) >= c.backoffReset {
			a.consecutive = 0
		}
		a.countDead(app)
	case EventRestart:
		a.restarts++
		a.consecutive++
	}
	if a.life.phase() == state.Pending {
		// Whatever is dead now is replaced by this pending phase's
		// creates; only a death after them is a new failure.
		a.countDead(app)
	}
	if next.event != EventNodeLost {
		a.err = next.err
	}
	if app.spec != nil {
		a.specRevision = app.specRevision
	}
	a.rejected = app.rejected
	// Ready to ready only brings a stale status up to date: the app has
	// been ready all along.
	if a.life.phase() != state.Ready {
		a.readySince = time.Time{}
	} else if a.readySince.IsZero() {
		a.readySince = now
	}
	a.since = now
	a.stale = ""
}

// countDead marks every dead container of the app as accounted for: they
// are the reason for this failure, or about to be replaced by a restart.
func (a *appState) countDead(app *appView) {
	for _, container := range app.all {
		if !container.Running {
			a.counted[container.RuntimeID] = true
		}
	}
}

// decide picks the event the app's desired and actual state call for, in
// priority order: the node's health, then the spec's validity and presence,
// then the containers.
func (c *Core) decide(in Input, a *appState, app *appView) (change, bool) {
	phase := a.life.phase()
	switch {
	case in.NodeLost:
		if a.life.machine.Can(EventNodeLost) {
			return change{event: EventNodeLost, reason: "the node's heartbeat lease expired"}, true
		}
		return change{}, false
	case phase == state.Lost:
		return change{event: EventNodeBack, reason: "the node heartbeats again"}, true
	case app.spec == nil && app.rejected != nil:
		if phase == state.Failed && a.err == app.rejected.String() {
			return change{}, false
		}
		return change{event: EventSpecInvalid, reason: "the app's spec was rejected and no good one is known; its containers are held", err: app.rejected.String()}, true
	case app.spec == nil:
		return decideWithoutSpec(phase, app)
	}
	if next, ok := c.decideWithSpec(in, a, app); ok {
		return next, true
	}
	return decideRejection(a, app)
}

// decideRejection records a change of the app's spec rejection, when
// nothing else happens to it: the spec in force stays, and so does the
// phase.
func decideRejection(a *appState, app *appView) (change, bool) {
	switch {
	case app.rejected == nil && a.rejected == nil, app.rejected != nil && a.rejected != nil && *app.rejected == *a.rejected:
		return change{}, false
	case app.rejected != nil:
		return change{event: EventSpecRejected, reason: fmt.Sprintf("spec revision %d rejected; revision %d stays in force", app.rejected.Revision, app.specRevision)}, true
	}
	return change{event: EventSpecAccepted, reason: fmt.Sprintf("no spec rejected any more; revision %d in force", app.specRevision)}, true
}

// endsRejection says the app's spec was rejected and no longer is.
func endsRejection(a *appState, app *appView) bool { return a.rejected != nil && app.rejected == nil }

// decideWithSpec picks the event an app with a spec in force calls for in
// its phase.
func (c *Core) decideWithSpec(in Input, a *appState, app *appView) (change, bool) {
	phase := a.life.phase()
	switch phase {
	case phaseNone, state.Terminating, state.Terminated:
		return change{event: EventCreate, reason: fmt.Sprintf("spec revision %d", app.specRevision)}, true
	case state.Pending:
		return decidePending(in, a, app)
	case state.Ready:
		if reason, dead := firstNewDeath(a, app); dead {
			return change{event: EventContainerFailed, reason: reason}, true
		}
		if reason, missing := firstMissing(app); missing {
			return change{event: EventContainerMissing, reason: reason}, true
		}
		if a.stale != "" {
			n := len(app.spec.Containers)
			return change{event: EventAllRunning, reason: fmt.Sprintf("%d/%d containers running; the adopted status was stale: %s", n, n, a.stale)}, true
		}
		if app.specRevision != a.specRevision && !endsRejection(a, app) {
			// Every container runs with the new spec's hash: the edit
			// changed only settings applied in place. The status must
			// still answer the spec now in force. A good spec that ends
			// a rejection says so instead (decideRejection).
			n := len(app.spec.Containers)
			return change{event: EventAllRunning, reason: fmt.Sprintf("%d/%d containers running; spec revision %d applied in place", n, n, app.specRevision)}, true
		}
	case state.Failed:
		if app.specRevision != a.specRevision {
			return change{event: EventSpecChanged, reason: fmt.Sprintf("spec revision %d replaces %d", app.specRevision, a.specRevision)}, true
		}
		if _, missing := firstMissing(app); a.stale != "" && !missing {
			return change{event: EventRestart, reason: "the containers run again; the adopted status was stale: " + a.stale}, true
		}
		if !in.Now.Before(a.restartAt(c.restartBackoff)) {
			return change{event: EventRestart, reason: fmt.Sprintf("backoff of %s elapsed", c.restartBackoff.Delay(a.consecutive))}, true
		}
	}
	return change{}, false
}

func decideWithoutSpec(phase state.Phase, app *appView) (change, bool) {
	switch phase {
	case state.Terminating:
		if len(app.all) == 0 {
			return change{event: EventRemoved, reason: "all containers removed"}, true
		}
	case phaseNone, state.Terminated:
		if len(app.all) > 0 {
			return change{event: EventDelete, reason: "containers found with no spec for them"}, true
		}
	default:
		return change{event: EventDelete, reason: "the app's spec was deleted"}, true
	}
	return change{}, false
}

func decidePending(in Input, a *appState, app *appView) (change, bool) {
	if failure, ok := createFailure(in.Failures, app.name); ok {
		return change{
			event:  EventCreateFailed,
			reason: "create " + failure.Action.ContainerID + " failed",
			err:    failure.Err,
		}, true
	}
	if reason, dead := firstNewDeath(a, app); dead {
		return change{event: EventContainerFailed, reason: reason}, true
	}
	if _, missing := firstMissing(app); !missing {
		n := len(app.spec.Containers)
		return change{event: EventAllRunning, reason: fmt.Sprintf("%d/%d containers running", n, n)}, true
	}
	return change{}, false
}

func createFailure(failures []ActionFailure, app string) (ActionFailure, bool) {
	for _, failure := range failures {
		if failure.Action.Kind == ActionCreate && failure.Action.App == app {
			return failure, true
		}
	}
	return ActionFailure{}, false
}

// firstNewDeath finds a container of the current spec that stopped running
// and has not failed the app yet.
func firstNewDeath(a *appState, app *appView) (string, bool) {
	for _, spec := range app.spec.Containers {
		container, ok := app.kept[spec.Name]
		if ok && !container.Running && container.SpecHash == app.hashes[spec.Name] && !a.counted[container.RuntimeID] {
			return fmt.Sprintf("container %s %s", container.ID, exitNote(container)), true
		}
	}
	return "", false
}

// firstMissing finds a container of the spec that is not running with the
// spec's hash.
func firstMissing(app *appView) (string, bool) {
	for _, spec := range app.spec.Containers {
		container, ok := app.kept[spec.Name]
		switch {
		case !ok:
			return fmt.Sprintf("container %s is missing", state.ContainerID(app.name, spec.Name)), true
		case container.SpecHash != app.hashes[spec.Name]:
			return fmt.Sprintf("container %s runs spec hash %s, the spec wants %s", container.ID, container.SpecHash, app.hashes[spec.Name]), true
		case !container.Running:
			return fmt.Sprintf("container %s is not running", container.ID), true
		}
	}
	return "", false
}

func exitNote(container state.Container) string {
	if container.OOMKilled {
		return fmt.Sprintf("was OOM-killed (exit code %d)", container.ExitCode)
	}
	return fmt.Sprintf("exited with code %d", container.ExitCode)
}

func containerStatuses(app *appView) []state.ContainerStatus {
	var statuses []state.ContainerStatus
	for _, name := range state.SortedKeys(app.kept) {
		container := app.kept[name]
		status := state.ContainerStatus{
			Name:      name,
			RuntimeID: container.RuntimeID,
			GUID:      container.GUID,
			Running:   container.Running,
			ExitCode:  container.ExitCode,
		}
		if !container.Running {
			status.FailureNote = exitNote(container)
		}
		statuses = append(statuses, status)
	}
	sort.Slice(statuses, func(i, j int) bool { return statuses[i].Name < statuses[j].Name })
	return statuses
}
