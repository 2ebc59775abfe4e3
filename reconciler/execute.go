package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/state"
)

// errNoEffect marks an action that succeeded in the previous pass and is
// asked for again: the actuator accepts the write but the setting does not
// stick (a quota below the kernel's minimum, say). Retrying it at once
// would spin, so it backs off like a failure.
var errNoEffect = errors.New("the same action succeeded in the previous pass without effect")

// execute carries out the actions in order and returns how many it tried.
// A container whose retry backoff has not elapsed is skipped; a failed
// action skips the later actions on its container and no others.
func (r *Runner) execute(ctx context.Context, now time.Time, actions []Action) int {
	created := map[string]state.Container{}
	blocked := map[string]bool{}
	touched := map[string]bool{}
	done := map[string]string{}
	r.failures = nil
	tried := 0
	for _, action := range actions {
		id := action.ContainerID
		if blocked[id] {
			continue
		}
		if b, waiting := r.items[id]; waiting && now.Before(b.retryAt) {
			r.log.Debug("action waits for its backoff", "action", action.String(), "retry_at", b.retryAt)
			blocked[id] = true
			continue
		}
		tried++
		touched[id] = true
		err := r.do(ctx, action, created)
		key := id + " " + string(action.Kind)
		if err == nil && isSetting(action.Kind) && r.lastDone[key] == action.String() {
			err = errNoEffect
		}
		if err != nil {
			blocked[id] = true
			r.fail(now, action, err)
			continue
		}
		done[key] = action.String()
		r.log.Info("action done", "action", action.String())
		if r.cfg.ActionDone != nil {
			r.cfg.ActionDone(action, r.view)
		}
	}
	for id := range touched {
		if !blocked[id] {
			delete(r.items, id)
		}
	}
	r.lastDone = done
	return tried
}

func isSetting(kind ActionKind) bool {
	return kind == ActionSetCPU || kind == ActionSetBandwidth
}

func (r *Runner) fail(now time.Time, action Action, err error) {
	b := r.items[action.ContainerID]
	b.retryAt = now.Add(r.cfg.ActionBackoff.Delay(b.failures))
	b.failures++
	r.items[action.ContainerID] = b
	r.failures = append(r.failures, ActionFailure{Action: action, Err: err.Error()})
	r.log.Warn("action failed", "action", action.String(), "failures", b.failures, "retry_at", b.retryAt, "err", err)
	if r.cfg.ActionFailed != nil {
		r.cfg.ActionFailed(action, err)
	}
}

// do makes one actuator call. A resource setting that follows a create of
// the same container applies to the container the create returned.
func (r *Runner) do(ctx context.Context, action Action, created map[string]state.Container) error {
	target := action.Container
	if target.RuntimeID == "" {
		target = created[action.ContainerID]
	}
	switch action.Kind {
	case ActionCreate:
		container, err := r.cfg.Runtime.Create(ctx, action.App, *action.Spec, action.GUID, action.SpecHash)
		if err != nil {
			return fmt.Errorf("create %s: %w", action.ContainerID, err)
		}
		created[action.ContainerID] = container
		return nil
	case ActionStop:
		return wrapAction(action, r.cfg.Runtime.Stop(ctx, target))
	case ActionRemove:
		return wrapAction(action, r.cfg.Runtime.Remove(ctx, target))
	case ActionSetCPU:
		if r.cfg.CPU == nil {
			return nil
		}
		return wrapAction(action, r.cfg.CPU.SetCPU(ctx, target, *action.CPU))
	case ActionSetBandwidth:
		if r.cfg.Bandwidth == nil {
			return nil
		}
		return wrapAction(action, r.cfg.Bandwidth.SetBandwidth(ctx, target, action.BandwidthMbit))
	}
	return fmt.Errorf("%s %s: unknown action kind", action.Kind, action.ContainerID)
}

func wrapAction(action Action, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", action.Kind, action.ContainerID, err)
}

// pendingStatus is a status waiting to be written. A guarded one (a
// node-lost transition) is written only while its key is still at the
// revision the pass decided on: a status someone else wrote meanwhile (an
// agent marking a node lost, or this node's previous pass) is not to be
// overwritten with a conclusion drawn from an older view.
type pendingStatus struct {
	status  state.AppStatus
	guarded bool
	guard   int64
}

// pending turns a Ready's statuses into pending writes, guarding the
// node-lost ones with the revision of the status the view holds.
func (r *Runner) pending(statuses []state.AppStatus) []pendingStatus {
	out := make([]pendingStatus, len(statuses))
	for i, status := range statuses {
		out[i] = pendingStatus{status: status}
		if status.Transition != nil && status.Transition.Event == EventNodeLost {
			out[i].guarded, out[i].guard = true, r.view.StatusRevisions[status.App]
		}
	}
	return out
}

// writeStatuses appends statuses to those not yet written and writes them
// all, oldest first: runs of unguarded ones in transactions within etcd's
// limits, guarded ones one by one with PutIf. A Txn may not name a key
// twice, so an app with two queued transitions spreads over two Txns; each
// stays one write of the app's status, which keeps the key's history its
// lifecycle log. What fails to be written is kept for the next pass (fail
// static), and what was written is not kept, so a failure midway rewrites
// nothing. A guarded write that finds its key moved on is dropped, and the
// core forgets the app, to adopt it again from the status in the next view.
// Each call has a deadline, so an unreachable etcd fails the pass instead
// of holding it.
func (r *Runner) writeStatuses(ctx context.Context, statuses []pendingStatus) (int, error) {
	r.unwritten = append(r.unwritten, statuses...)
	if dropped := len(r.unwritten) - maxUnwritten; dropped > 0 {
		r.log.Warn("dropping the oldest unwritten statuses", "dropped", dropped)
		r.unwritten = r.unwritten[dropped:]
	}
	store := state.Bounded(r.cfg.Store, r.cfg.StoreTimeout)
	written := 0
	for len(r.unwritten) > 0 {
		var n int
		var err error
		if r.unwritten[0].guarded {
			n, err = r.writeGuarded(ctx, store, r.unwritten[0])
		} else {
			n, err = r.writeRun(ctx, store, unguardedRun(r.unwritten))
		}
		written += n
		if err != nil {
			return written, fmt.Errorf("write %d app statuses of node %s: %w", len(r.unwritten), r.cfg.Node, err)
		}
	}
	return written, nil
}

// unguardedRun is the longest prefix of pending statuses with no guard.
func unguardedRun(pending []pendingStatus) []pendingStatus {
	for i, p := range pending {
		if p.guarded {
			return pending[:i]
		}
	}
	return pending
}

// writeRun writes run, the head of r.unwritten, in bounded transactions,
// and takes what was written off the queue.
func (r *Runner) writeRun(ctx context.Context, store state.Store, run []pendingStatus) (int, error) {
	ops, err := statusOps(r.cfg.Node, run)
	if err != nil {
		return 0, err
	}
	written := 0
	err = state.TxnBatched(ctx, store, ops, func(batch []state.Op, rev int64) {
		for _, p := range r.unwritten[:len(batch)] {
			r.ownWrites[p.status.App] = rev
			r.logTransition(p.status)
		}
		written += len(batch)
		r.unwritten = r.unwritten[len(batch):]
	})
	return written, err
}

// writeGuarded writes the head of r.unwritten if its key is still at the
// guard's revision, and takes it off the queue either way unless the
// store could not be asked.
func (r *Runner) writeGuarded(ctx context.Context, store state.Store, p pendingStatus) (int, error) {
	ops, err := statusOps(r.cfg.Node, []pendingStatus{p})
	if err != nil {
		return 0, err
	}
	put, rev, err := store.PutIf(ctx, ops[0].Key, ops[0].Value, p.guard)
	if err != nil {
		return 0, err
	}
	r.unwritten = r.unwritten[1:]
	if !put {
		r.log.Info("the app's status changed since the pass decided; the next pass decides again",
			"app", p.status.App, "event", p.status.Transition.Event, "seen_revision", p.guard)
		r.core.Forget(p.status.App)
		return 0, nil
	}
	r.ownWrites[p.status.App] = rev
	r.logTransition(p.status)
	return 1, nil
}

// logTransition logs each transition once, as it is recorded; one that
// records a spec rejection is a warning that says why.
func (r *Runner) logTransition(status state.AppStatus) {
	tr := status.Transition
	attrs := []any{"app", status.App, "from", tr.From, "to", tr.To, "event", tr.Event, "reason", tr.Reason}
	if r.cfg.Transitioned != nil {
		r.cfg.Transitioned(status)
	}
	if status.Rejected != nil && (tr.Event == EventSpecRejected || tr.Event == EventSpecInvalid) {
		r.log.Warn("app spec rejected", append(attrs, "err", status.Rejected.String())...)
		return
	}
	r.log.Info("app transition", attrs...)
}

// statusOps makes one put of an app's status key per status, in order.
func statusOps(node string, pending []pendingStatus) ([]state.Op, error) {
	ops := make([]state.Op, len(pending))
	for i, p := range pending {
		status := p.status
		value, err := json.Marshal(status)
		if err != nil {
			return nil, fmt.Errorf("encode status of app %s: %w", status.App, err)
		}
		ops[i] = state.Put(state.Keys.Status(node, status.App), value)
	}
	return ops, nil
}
