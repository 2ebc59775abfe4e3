package reconciler

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Run reconciles on every relevant change of the follower's view and every
// runtime event, until ctx ends; then it waits for its goroutines and
// returns nil. Wakes coalesce: however many changes arrive during a pass,
// one more pass follows. Without wakes a pass runs every ResyncInterval,
// and when a restart backoff or an action's retry backoff ends.
//
// If the store cannot be reached, the follower keeps its last view and the
// runner goes on reconciling against it (fail static).
func (r *Runner) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.cfg.Follower == nil {
		return errors.New("reconciler runner: Run needs RunnerConfig.Follower")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wakes := make(chan struct{}, 1)
	done := r.followRuntime(ctx, wakes)
	r.loop(ctx, r.cfg.Follower.Subscribe(), wakes)
	cancel()
	<-done
	return nil
}

func (r *Runner) loop(ctx context.Context, views *state.Subscription, wakes <-chan struct{}) {
	timer := time.NewTimer(r.cfg.ResyncInterval)
	defer timer.Stop()
	passErrors := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-views.C():
			if !r.takeView(views) {
				continue
			}
		case <-wakes:
		case <-timer.C:
		}
		r.drain(views, wakes)
		r.mu.Lock()
		outcome, err := r.pass(ctx)
		next := r.nextPass(outcome)
		r.mu.Unlock()
		switch {
		case errors.Is(err, ErrNoView):
			next = r.cfg.ResyncInterval
		case err != nil:
			r.log.Warn("reconcile pass failed", "err", err, "failures", passErrors+1)
			next = min(next, r.cfg.RetryBackoff.Delay(passErrors))
			passErrors++
		default:
			passErrors = 0
		}
		timer.Reset(next)
	}
}

// drain takes every wake already waiting, so that a burst costs one pass.
func (r *Runner) drain(views *state.Subscription, wakes <-chan struct{}) {
	for {
		select {
		case <-views.C():
			r.takeView(views)
		case <-wakes:
		default:
			return
		}
	}
}

// takeView makes the subscription's latest view the runner's and reports
// whether a pass is due for it: a change of the specs, the registrations,
// the decision (written only when it changes), the node's claim or the
// cluster keys.
// Observations arrive every tick and the runner's own status writes come
// back through the follower; neither is a reason for a pass, and skipping
// them keeps an idle node's agent idle.
func (r *Runner) takeView(views *state.Subscription) (relevant bool) {
	view, changes := views.Next()
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.view == nil
	r.view = view
	return first || changes.Has(state.KindApp) || changes.Has(state.KindNode) ||
		changes.Has(state.KindDecision) || changes.Has(state.KindClaim) || changes.Has(state.KindCluster)
}

// nextPass is how long to wait after a pass: none if it changed something
// (to see the result), else until the earliest backoff ends, at most the
// resync interval.
func (r *Runner) nextPass(outcome passOutcome) time.Duration {
	if outcome.worked {
		return 0
	}
	now := r.clock.Now()
	next := r.cfg.ResyncInterval
	consider := func(at time.Time) {
		if !at.IsZero() {
			next = min(next, max(at.Sub(now), 0))
		}
	}
	consider(r.wakeAt)
	for _, item := range r.items {
		consider(item.retryAt)
	}
	if len(r.unwritten) > 0 {
		next = min(next, r.cfg.RetryBackoff.Initial)
	}
	return next
}

// followRuntime turns the runtime's container events, if it has them,
// into wakes until ctx ends; the channel it returns closes then. It
// subscribes before it returns, so that a container that dies after the
// first pass listed it still wakes the runner.
func (r *Runner) followRuntime(ctx context.Context, wakes chan<- struct{}) <-chan struct{} {
	done := make(chan struct{})
	source, ok := r.cfg.Runtime.(RuntimeEvents)
	if !ok {
		close(done)
		return done
	}
	events := source.Events(ctx)
	go func() {
		defer close(done)
		r.wakeOnEvents(ctx, source, events, wakes)
	}()
	return done
}

// wakeOnEvents wakes the runner for each event, and subscribes again when
// the stream ends before ctx does. The event only says "look"; the pass
// reads the state itself.
func (r *Runner) wakeOnEvents(ctx context.Context, source RuntimeEvents, events <-chan state.ContainerEvent, wakes chan<- struct{}) {
	failures := 0
	for {
		for range events {
			failures = 0
			select {
			case wakes <- struct{}{}:
			default:
			}
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("runtime event stream ended; subscribing again", "failures", failures+1)
		sleep(ctx, r.cfg.RetryBackoff.Delay(failures))
		failures++
		events = source.Events(ctx)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
