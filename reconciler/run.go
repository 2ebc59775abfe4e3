package reconciler

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/sluice-io/sluice/state"
)

// storeUpdate is what the store follower hands the loop: a fresh view after
// a listing, or events to fold into the current one.
type storeUpdate struct {
	view   *state.View
	events []state.Event
}

// Run follows the store and the runtime and reconciles on every change,
// until ctx ends; then it waits for its goroutines and returns nil. Wakes
// coalesce: however many events arrive during a pass, one more pass
// follows. Without wakes a pass runs every ResyncInterval, and when a
// restart backoff or an action's retry backoff ends.
//
// If the store cannot be reached, the runner keeps its last view and goes
// on reconciling against it (fail static), retrying the store with backoff.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan storeUpdate)
	wakes := make(chan struct{}, 1)
	done := make(chan struct{}, 2)
	workers := 1
	go func() { r.followStore(ctx, updates); done <- struct{}{} }()
	if events, ok := r.cfg.Runtime.(RuntimeEvents); ok {
		workers++
		go func() { r.followRuntime(ctx, events, wakes); done <- struct{}{} }()
	}
	r.loop(ctx, updates, wakes)
	cancel()
	for range workers {
		<-done
	}
	return nil
}

func (r *Runner) loop(ctx context.Context, updates <-chan storeUpdate, wakes <-chan struct{}) {
	timer := time.NewTimer(r.cfg.ResyncInterval)
	defer timer.Stop()
	passErrors := 0
	for {
		select {
		case <-ctx.Done():
			return
		case update := <-updates:
			if !r.applyUpdate(update) {
				continue
			}
		case <-wakes:
		case <-timer.C:
		}
		r.drain(updates, wakes)
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

// drain folds every update already waiting, so that a burst of events
// costs one pass.
func (r *Runner) drain(updates <-chan storeUpdate, wakes <-chan struct{}) {
	for {
		select {
		case update := <-updates:
			r.applyUpdate(update)
		case <-wakes:
		default:
			return
		}
	}
}

// applyUpdate folds an update into the view and reports whether it can
// change what a pass does. Observations arrive every tick and the runner's
// own status writes come back through the watch; neither is a reason for
// a pass, and skipping them keeps an idle node's agent idle.
func (r *Runner) applyUpdate(update storeUpdate) (relevant bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if update.view != nil {
		r.view = update.view
		relevant = true
	}
	if r.view == nil {
		return false
	}
	for _, ev := range update.events {
		if r.applyEvent(ev) {
			relevant = true
		}
	}
	return relevant
}

// applyEvent folds ev into the view and reports whether it can change what
// a pass does. The policy records a decision every tick, with a new time
// and revision even when the containers' settings stay the same; only a
// change of those settings is a reason for a pass.
func (r *Runner) applyEvent(ev state.Event) bool {
	kind, name := state.ParseKey(ev.Key)
	if kind != state.KindDecision || name != r.cfg.Node {
		r.view.Apply(ev)
		return kind == state.KindApp || kind == state.KindNode
	}
	before, had := r.view.Decisions[name]
	r.view.Apply(ev)
	after, has := r.view.Decisions[name]
	return had != has || !maps.EqualFunc(before.Containers, after.Containers, sameContainerDecision)
}

func sameContainerDecision(a, b state.ContainerDecision) bool {
	return equalPtr(a.CPUQuotaCores, b.CPUQuotaCores) && equalPtr(a.CPUShares, b.CPUShares) && equalPtr(a.NetMbit, b.NetMbit)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
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

// followStore lists the store, then watches it from the listed revision,
// and starts over with a fresh listing when the watch breaks; a watch that
// fell behind compaction (ErrCompacted) has no other way to catch up.
func (r *Runner) followStore(ctx context.Context, updates chan<- storeUpdate) {
	failures := 0
	for ctx.Err() == nil {
		view, err := state.LoadView(ctx, r.cfg.Store)
		if err != nil {
			r.log.Warn("list the store; keeping the last view", "err", err, "failures", failures+1)
			sleep(ctx, r.cfg.RetryBackoff.Delay(failures))
			failures++
			continue
		}
		failures = 0
		if !send(ctx, updates, storeUpdate{view: &view}) {
			return
		}
		err = r.watch(ctx, view.Revision+1, updates)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, state.ErrCompacted):
			r.log.Info("watch fell behind compaction; listing again", "err", err)
		default:
			r.log.Warn("watch ended; listing again", "err", err)
			sleep(ctx, r.cfg.RetryBackoff.Delay(0))
		}
	}
}

func (r *Runner) watch(ctx context.Context, from int64, updates chan<- storeUpdate) error {
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for response := range r.cfg.Store.Watch(watchCtx, state.Root, from) {
		if response.Err != nil {
			return response.Err
		}
		if !send(ctx, updates, storeUpdate{events: response.Events}) {
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("watch channel closed")
}

// followRuntime turns container events into wakes. The event only says
// "look"; the pass reads the state itself.
func (r *Runner) followRuntime(ctx context.Context, source RuntimeEvents, wakes chan<- struct{}) {
	failures := 0
	for ctx.Err() == nil {
		for range source.Events(ctx) {
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
	}
}

func send(ctx context.Context, updates chan<- storeUpdate, update storeUpdate) bool {
	select {
	case updates <- update:
		return true
	case <-ctx.Done():
		return false
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
