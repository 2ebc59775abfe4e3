package policies

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Decider runs the policy step for one node on a live store: every new
// observation of the node triggers one decision (or one recorded policy
// error). Observations that arrive while a decision is being made are
// coalesced: the next decision reads the latest view anyway.
type Decider struct {
	Store    state.Store
	Node     string
	Reloader *Reloader
	Logger   *slog.Logger
	// Decided, when set, is called after every write, for metrics: whether
	// a decision was made (false: a policy error) and how long it took.
	Decided func(decided bool, took time.Duration)

	// rejected is the digest of the last bundle whose rejection was
	// recorded, so a broken bundle is recorded once, not once per tick.
	rejected string
}

// Run follows the node's observations until ctx ends. A broken watch is
// re-established from the last revision seen; while the store is
// unreachable nothing is decided and the last decision stays in force.
func (d *Decider) Run(ctx context.Context) error {
	from := int64(0)
	for ctx.Err() == nil {
		next, err := d.follow(ctx, from)
		if ctx.Err() != nil {
			return nil
		}
		from = next
		d.Logger.Warn("observation watch ended; resuming", "from_revision", from, "err", err)
		sleepCtx(ctx, time.Second)
	}
	return nil
}

func (d *Decider) follow(ctx context.Context, from int64) (int64, error) {
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-wake:
				if err := d.DecideOnce(ctx); err != nil && ctx.Err() == nil {
					d.Logger.Warn("policy step failed", "err", err)
				}
			}
		}
	}()
	defer func() { <-done }()
	for resp := range d.Store.Watch(ctx, state.Keys.Observation(d.Node), from) {
		if resp.Err != nil {
			var compacted *state.CompactedError
			if errors.As(resp.Err, &compacted) {
				return 0, resp.Err // missed observations need no catching up: start from now
			}
			return from, resp.Err
		}
		if n := len(resp.Events); n > 0 {
			from = resp.Events[n-1].Revision + 1
			select {
			case wake <- struct{}{}:
			default: // a decision is already due and will see this observation
			}
		}
	}
	return from, ctx.Err()
}

// DecideOnce makes one decision on the store's current view.
func (d *Decider) DecideOnce(ctx context.Context) error {
	start := time.Now()
	view, err := state.LoadView(ctx, d.Store)
	if err != nil {
		return err
	}
	engine, reloadErr := d.Reloader.SyncView(ctx, &view)
	if err := d.recordRejection(ctx, &view, reloadErr); err != nil {
		return err
	}
	op, ok, err := Step(ctx, engine, &view, d.Node)
	if err != nil || !ok {
		return err
	}
	if _, err := d.Store.Txn(ctx, op); err != nil {
		return fmt.Errorf("record the policy step: %w", err)
	}
	if d.Decided != nil {
		kind, _ := state.ParseKey(op.Key)
		d.Decided(kind == state.KindDecision, time.Since(start))
	}
	return nil
}

// recordRejection writes a bundle's compile failure as a PolicyError, once
// per rejected bundle; the engine in force stays the last good one.
func (d *Decider) recordRejection(ctx context.Context, view *state.View, reloadErr error) error {
	var policyErr *Error
	if !errors.As(reloadErr, &policyErr) || policyErr.BundleDigest == d.rejected {
		return nil
	}
	d.Logger.Warn("policy bundle rejected; the last good one stays in force", "err", reloadErr)
	op, _, err := putJSON(state.Keys.PolicyError(d.Node),
		policyErr.PolicyError(d.Node, view.Revision, view.Observations[d.Node].Time))
	if err != nil {
		return err
	}
	if _, err := d.Store.Txn(ctx, op); err != nil {
		return fmt.Errorf("record the rejected bundle: %w", err)
	}
	d.rejected = policyErr.BundleDigest
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
