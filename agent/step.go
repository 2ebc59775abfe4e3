package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/state"
)

// StepResult says what one Step did.
type StepResult struct {
	Observation state.Observation
	// Revision is where the observation was written; 0 while it waits in
	// the buffer for the store, and then nothing was decided.
	Revision int64
	// Decided says the policy step wrote something: a changed decision or
	// a policy error.
	Decided bool
}

// Step is one tick of the loop: observe the node, record the observation,
// decide on the view that holds it, and, when the decision changed and Run
// does not drive the reconciler, reconcile once to apply it. A store that
// cannot be reached costs the decision, never the observation, which
// waits in the buffer.
func (a *Agent) Step(ctx context.Context) (StepResult, error) {
	before, err := a.view(ctx, 0)
	if err != nil {
		return StepResult{}, err
	}
	obs, err := a.node.Observe(ctx, before)
	if err != nil {
		return StepResult{}, fmt.Errorf("observe node %s: %w", a.cfg.Node, err)
	}
	if a.hooks.ObservationWriting != nil {
		a.hooks.ObservationWriting(obs)
	}
	// The exporter keeps counters in memory: it cannot fail.
	_ = a.metrics.Observations.Export(ctx, obs)
	result := StepResult{Observation: obs}
	if result.Revision, err = a.writer.Export(ctx, obs); err != nil {
		a.log.Warn("observation buffered; the store is unreachable", "err", err, "buffered", a.writer.Buffered())
		return result, nil
	}
	written := time.Now()
	view, err := a.view(ctx, result.Revision)
	if err != nil {
		return result, err
	}
	if !a.noPolicy {
		if result.Decided, err = a.decide(ctx, view); err != nil {
			return result, err
		}
	}
	if a.hooks.Stepped != nil {
		a.hooks.Stepped(result, time.Since(written))
	}
	if !a.running && result.Decided {
		return result, a.Reconcile(ctx)
	}
	return result, nil
}

// view is the node's view at rev or later: the follower's when Run is
// following the store, else a fresh listing. A running agent waits at most
// one interval for the follower to fold its own write.
func (a *Agent) view(ctx context.Context, rev int64) (*state.View, error) {
	if !a.running {
		listCtx, cancel := context.WithTimeout(ctx, a.cfg.StoreTimeout)
		defer cancel()
		view, err := state.LoadView(listCtx, a.store, a.cfg.Node)
		return &view, err
	}
	if rev == 0 {
		return a.follower.View(), nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, a.cfg.Interval)
	defer cancel()
	start := time.Now()
	view, err := a.follower.WaitFor(waitCtx, rev)
	if err == nil {
		a.metrics.followerLag.Observe(time.Since(start).Seconds())
	}
	return view, err
}

// decide runs the policy step on view and records its outcome.
func (a *Agent) decide(ctx context.Context, view *state.View) (bool, error) {
	start := time.Now()
	engine, reloadErr := a.reloader.SyncView(ctx, view)
	ops, err := a.rejection(view, reloadErr)
	if err != nil {
		return false, err
	}
	evalCtx, cancel := context.WithTimeout(ctx, a.cfg.PolicyTimeout)
	stepOps, failure, err := policies.Step(evalCtx, engine, view, a.cfg.Node)
	cancel()
	if err != nil {
		return false, err
	}
	a.notePolicy(engine, failure)
	for _, op := range stepOps {
		// The node's policy error key says a bundle was rejected while the
		// wanted bundle still fails to compile: the step must neither write
		// nor clear it then, and never twice in one Txn.
		if op.Key != state.Keys.PolicyError(a.cfg.Node) || reloadErr == nil {
			ops = append(ops, op)
		}
	}
	defer func() { a.metrics.decided(ops, time.Since(start)) }()
	if len(ops) == 0 {
		return false, nil
	}
	writeCtx, cancel := context.WithTimeout(ctx, a.cfg.StoreTimeout)
	defer cancel()
	if _, err := a.store.Txn(writeCtx, ops...); err != nil {
		return false, fmt.Errorf("record the policy step of node %s: %w", a.cfg.Node, err)
	}
	return true, nil
}

// notePolicy rejects a bundle whose evaluation passed a bound, as one that
// fails to compile is (its PolicyError is in the step's writes, so the
// rejection is not written again), and logs the policy's failures once
// per change of bundle or stage, and its recovery.
func (a *Agent) notePolicy(engine *policies.Engine, failure *policies.Error) {
	if failure != nil && policies.Bounded(failure) && a.reloader.Reject(engine, failure) {
		a.rejected = failure.BundleDigest
	}
	failing := ""
	if failure != nil {
		failing = failure.Stage + " " + failure.BundleDigest
	}
	switch {
	case failing == a.failing:
	case failure != nil:
		a.log.Warn("policy failed; the last good decision stays in force", "stage", failure.Stage,
			"digest", failure.BundleDigest, "err", failure.Err)
	default:
		a.log.Info("policy decides again", "digest", engine.Digest())
	}
	a.failing = failing
}

// rejection is the write that records a bundle's compile failure, once per
// rejected bundle; the engine in force stays the last good one.
func (a *Agent) rejection(view *state.View, reloadErr error) ([]state.Op, error) {
	var policyErr *policies.Error
	if !errors.As(reloadErr, &policyErr) || policyErr.BundleDigest == a.rejected {
		return nil, nil
	}
	a.log.Warn("policy bundle rejected; the last good one stays in force", "err", reloadErr)
	a.rejected = policyErr.BundleDigest
	op, err := policies.PolicyErrorOp(a.cfg.Node, policyErr.PolicyError(a.cfg.Node, view.Revision, view.Observations[a.cfg.Node].Time))
	if err != nil {
		return nil, err
	}
	return []state.Op{op}, nil
}

// Reconcile brings a stepped agent's reconciler up to date with the store
// and runs one pass; a caller that changed the intent between Steps (an
// experiment starting its apps) converges the node with it. Not for a
// running agent, whose reconciler runs on its own.
func (a *Agent) Reconcile(ctx context.Context) error {
	if err := a.runner.Sync(ctx); err != nil {
		return err
	}
	return a.runner.ReconcileOnce(ctx)
}
