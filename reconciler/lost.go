package reconciler

import (
	"fmt"
	"time"

	"github.com/sluice-io/sluice/state"
)

// MarkLost is the status another node's agent writes for an app of a node
// whose heartbeat lease expired: the app's last status, moved to lost by
// the lifecycle's own node-lost event. It reports false when the phase does
// not lead to lost (already lost, terminated, or unknown). The node's own
// agent, when it registers again, adopts the app from this status and
// brings it back (EventNodeBack).
func MarkLost(status state.AppStatus, node, by string, now time.Time) (state.AppStatus, bool) {
	life := newLifecycle(status.Phase)
	if !knownPhase(status.Phase) || !life.machine.Can(EventNodeLost) {
		return state.AppStatus{}, false
	}
	from, err := life.fire(EventNodeLost)
	if err != nil {
		return state.AppStatus{}, false
	}
	status.Node = node
	status.Phase = life.phase()
	status.Transition = &state.Transition{
		From: from, To: status.Phase, Event: EventNodeLost, Time: now,
		Reason: fmt.Sprintf("the node's heartbeat lease expired (seen by node %s)", by),
	}
	return status, true
}

// forgetLostElsewhere makes the core adopt afresh every app whose status
// in the view is a lost that this runner did not write, while the node is
// registered: another agent marked the node lost (MarkLost) while this one
// still ran. Adopted from that status, the app comes back (EventNodeBack),
// so the node's own agent has the last word.
func (r *Runner) forgetLostElsewhere(nodeLost bool) {
	if nodeLost {
		return
	}
	for app, status := range r.view.Statuses {
		if status.Phase != state.Lost || r.view.StatusRevisions[app] <= r.ownWrites[app] {
			continue
		}
		if phase, tracked := r.core.Phase(app); tracked && phase != state.Lost {
			r.log.Info("another node marked the app lost; adopting it again", "app", app, "revision", r.view.StatusRevisions[app])
			r.core.Forget(app)
		}
	}
}
