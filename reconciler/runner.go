package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Clock tells the runner the time it hands to the core: the wall clock on a
// node, virtual time in the simulator.
type Clock interface {
	Now() time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// WallClock is the real clock, for the agent.
var WallClock Clock = wallClock{}

// ErrNoView is returned by a pass run before the runner has read the store.
var ErrNoView = errors.New("no view of the store yet: call Sync or Apply first")

// RunnerConfig wires a Runner to its store, actuators and clock. Zero
// values take the defaults given per field.
type RunnerConfig struct {
	// Node is the node whose apps the runner reconciles.
	Node string
	// Store is the event log: statuses are written to it, and Sync reads
	// the node's view from it.
	Store state.Store
	// Follower keeps the node's view current for Run; Sync and Apply do
	// without.
	Follower *state.Follower
	// Runtime creates and lists containers. If it also implements
	// RuntimeEvents, a container's death wakes the runner at once.
	Runtime Runtime
	// CPU reads and writes CPU settings; nil leaves them alone.
	CPU CPUController
	// Bandwidth reads and writes uplink limits; nil leaves them alone.
	Bandwidth BandwidthController
	// Clock gives the core its notion of now; nil is WallClock.
	Clock Clock
	// Random supplies GUID suffixes; nil is crypto/rand. The simulator
	// passes a seeded source.
	Random io.Reader
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
	// RestartBackoff paces the restarts of a failed app.
	RestartBackoff state.Backoff
	// TerminatedRetention is how long a terminated app stays listed
	// before its status is deleted [DefaultTerminatedRetention].
	TerminatedRetention time.Duration
	// BackoffReset is how long an app must stay ready for its next failure
	// to start the restart backoff over; default 10 minutes.
	BackoffReset time.Duration
	// ActionBackoff paces retries of a failing actuator call, per container.
	ActionBackoff state.Backoff
	// StoreTimeout bounds each read and write of the store [2 s]: a pass
	// must not hang on an unreachable etcd while containers need it.
	StoreTimeout time.Duration
	// RetryBackoff paces retries of a failed listing, watch or pass.
	RetryBackoff state.Backoff
	// ResyncInterval bounds the time between passes when nothing wakes
	// the runner: a level-triggered loop also catches what no event told
	// it about. Default 10 s.
	ResyncInterval time.Duration
	// NodeLost says whether the node's heartbeat has expired, from the view
	// and the time; nil means never. While it holds, the core records the
	// node's apps as lost and touches nothing.
	NodeLost func(view *state.View, now time.Time) bool
	// StoreID is the identity of Store (state.EnsureClusterID), which the
	// Runtime labels its containers with. Containers of another store are
	// left alone, and a store that knows nothing of the node acts on none
	// of its containers until the node is claimed (View.Claim). Empty
	// leaves ownership out.
	StoreID string
	// ClaimContainers claims the node at start, as a claim in the view does.
	ClaimContainers bool
	// ActionDone, if set, is called after each action the actuators carried
	// out, with the view the pass acted on (read it, keep nothing of it).
	// It lets the agent time the loop from an observation to the actuator
	// write; it runs inside the pass, so it must return quickly.
	ActionDone func(action Action, view *state.View)
	// ActionFailed, if set, is called for each action an actuator refused
	// or that had no effect, with why; the action is retried with backoff.
	// It runs inside the pass, so it must return quickly.
	ActionFailed func(action Action, err error)
	// Transitioned, if set, is called for each app status written: one
	// step of the app's lifecycle. It runs inside the pass, so it must
	// return quickly.
	Transitioned func(status state.AppStatus)
}

// DefaultRetryBackoff paces the runner's retries of the store and runtime.
var DefaultRetryBackoff = state.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second}

// maxUnwritten bounds the statuses kept while the store is unreachable; the
// oldest go first, since the newest say where each app is now.
const maxUnwritten = 1024

// Runner is the imperative shell around a Core: it follows the store, reads
// the actual state, runs the core and carries out what it returns.
//
// Either call Run, which does all of that until its context ends, or drive
// the runner step by step with Sync (or Apply) and ReconcileOnce, as the
// simulator does to stay deterministic; not both at once.
type Runner struct {
	cfg   RunnerConfig
	log   *slog.Logger
	clock Clock

	// mu is held by a pass and by anything that touches the view, so
	// ReconcileOnce and Apply are safe to call from another goroutine.
	mu       sync.Mutex
	core     *Core
	view     *state.View
	items    map[string]itemBackoff
	failures []ActionFailure
	lastDone map[string]string
	// ownWrites is the revision of each app's last status this runner
	// wrote, to tell its own writes from another agent's.
	ownWrites map[string]int64
	unwritten []pendingStatus
	wakeAt    time.Time
}

// itemBackoff is the retry state of one container's failing actions.
type itemBackoff struct {
	failures int
	retryAt  time.Time
}

// NewRunner returns a runner for cfg. It reads nothing until Run or Sync.
func NewRunner(cfg RunnerConfig) *Runner {
	cfg.RestartBackoff = cfg.RestartBackoff.WithDefaults(DefaultRestartBackoff)
	cfg.ActionBackoff = cfg.ActionBackoff.WithDefaults(DefaultActionBackoff)
	cfg.RetryBackoff = cfg.RetryBackoff.WithDefaults(DefaultRetryBackoff)
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 10 * time.Second
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = 2 * time.Second
	}
	if cfg.BackoffReset <= 0 {
		cfg.BackoffReset = 10 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = WallClock
	}
	opts := []Option{WithRestartBackoff(cfg.RestartBackoff), WithBackoffReset(cfg.BackoffReset), WithTerminatedRetention(cfg.TerminatedRetention)}
	if cfg.Random != nil {
		opts = append(opts, WithRandom(cfg.Random))
	}
	return &Runner{
		cfg:       cfg,
		log:       log.With("component", "reconciler", "node", cfg.Node),
		clock:     clock,
		core:      NewCore(cfg.Node, opts...),
		items:     map[string]itemBackoff{},
		lastDone:  map[string]string{},
		ownWrites: map[string]int64{},
	}
}

func (r *Runner) check() error {
	switch {
	case r.cfg.Node == "":
		return errors.New("reconciler runner: RunnerConfig.Node is empty")
	case r.cfg.Store == nil:
		return errors.New("reconciler runner: RunnerConfig.Store is nil")
	case r.cfg.Runtime == nil:
		return errors.New("reconciler runner: RunnerConfig.Runtime is nil")
	}
	return nil
}

// Sync replaces the runner's view with a fresh listing of the store. If the
// store cannot be read, the last view stays (fail static) and the error says
// why.
func (r *Runner) Sync(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.StoreTimeout)
	defer cancel()
	view, err := state.LoadView(ctx, r.cfg.Store, r.cfg.Node)
	if err != nil {
		return fmt.Errorf("sync the view of node %s: %w", r.cfg.Node, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.view = &view
	return nil
}

// Apply folds events into the runner's view, for a caller that reads the
// log itself. Without an earlier Sync the view starts empty, so the events
// must then start at the beginning of the log.
func (r *Runner) Apply(events ...state.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.view == nil {
		view := state.NewView(r.cfg.Node)
		r.view = &view
	}
	for _, ev := range events {
		r.view.Apply(ev)
	}
}

// Revision is the store revision the runner's view is at; 0 before the
// first Sync or Apply.
func (r *Runner) Revision() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.view == nil {
		return 0
	}
	return r.view.Revision
}

// Phase reports the lifecycle phase the runner's core holds for app.
func (r *Runner) Phase(app string) (state.Phase, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.core.Phase(app)
}

// ReconcileOnce runs one pass against the current view: read the actual
// state, step the core, carry out its actions and write its statuses. An
// actuator that refuses an action does not fail the pass: the action is
// retried with backoff in a later one. The pass fails when the runtime
// cannot list its containers or the statuses cannot be written; they are
// kept and written by a later pass.
func (r *Runner) ReconcileOnce(ctx context.Context) error {
	if err := r.check(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := r.pass(ctx)
	return err
}

// passOutcome says what a pass did, which decides when the next one runs.
type passOutcome struct {
	// worked: it executed an action or wrote a status, so the world may
	// have moved on and the next pass should follow at once.
	worked bool
}

func (r *Runner) pass(ctx context.Context) (passOutcome, error) {
	if r.view == nil {
		return passOutcome{}, ErrNoView
	}
	now := r.clock.Now()
	containers, err := r.cfg.Runtime.List(ctx)
	if err != nil {
		return passOutcome{}, fmt.Errorf("reconcile node %s: list containers: %w", r.cfg.Node, err)
	}
	in := Input{
		Now: now, View: r.view, Containers: containers, Failures: r.failures,
		Store: r.cfg.StoreID, Claimed: r.cfg.ClaimContainers,
	}
	if r.cfg.NodeLost != nil {
		in.NodeLost = r.cfg.NodeLost(r.view, now)
	}
	r.forgetLostElsewhere(in.NodeLost)
	in.CPU, in.Bandwidth = r.readSettings(ctx, containers)
	wasClaimed := r.core.claimed
	ready := r.core.Step(in)
	r.logClaim(wasClaimed)
	r.logHeld(ready.Held)
	executed := r.execute(ctx, now, ready.Actions)
	r.wakeAt = ready.WakeAt
	written, err := r.writeStatuses(ctx, r.pending(ready.Statuses))
	if err != nil {
		return passOutcome{worked: executed > 0 || written > 0}, err
	}
	err = r.purge(ctx, ready.Purged)
	return passOutcome{worked: executed > 0 || written > 0 || len(ready.Purged) > 0}, err
}

// purge deletes the statuses of the apps the core purged, in transactions
// within etcd's limits. What fails is purged again by a later pass: the
// core adopts the app anew from the status still in the view.
func (r *Runner) purge(ctx context.Context, apps []string) error {
	if len(apps) == 0 {
		return nil
	}
	ops := make([]state.Op, len(apps))
	for i, app := range apps {
		ops[i] = state.Delete(state.Keys.Status(r.cfg.Node, app))
	}
	store := state.Bounded(r.cfg.Store, r.cfg.StoreTimeout)
	err := state.TxnBatched(ctx, store, ops, func(batch []state.Op, _ int64) {
		for _, op := range batch {
			r.log.Info("terminated app purged", "key", op.Key)
		}
	})
	if err != nil {
		return fmt.Errorf("purge %d terminated apps of node %s: %w", len(apps), r.cfg.Node, err)
	}
	return nil
}

// readSettings reads the CPU and bandwidth settings of each running
// container. A container the runtime lists twice is skipped until the
// core has removed the extra; a failed read is logged and left out, so the
// core leaves that setting alone this pass.
func (r *Runner) readSettings(ctx context.Context, containers []state.Container) (map[string]state.CPUResources, map[string]*float64) {
	cpu := map[string]state.CPUResources{}
	bandwidth := map[string]*float64{}
	dups := duplicated(containers)
	for _, container := range containers {
		if !container.Running || dups[container.ID] {
			continue
		}
		if r.cfg.CPU != nil {
			if settings, err := r.cfg.CPU.CPU(ctx, container); err != nil {
				r.log.Warn("read cpu settings", "container", container.ID, "err", err)
			} else {
				cpu[container.ID] = settings
			}
		}
		if r.cfg.Bandwidth != nil {
			if limit, err := r.cfg.Bandwidth.Bandwidth(ctx, container); err != nil {
				r.log.Warn("read bandwidth limit", "container", container.ID, "err", err)
			} else {
				bandwidth[container.ID] = limit
			}
		}
	}
	return cpu, bandwidth
}

// LostWhenUnregistered is a RunnerConfig.NodeLost for a node that keeps its
// registration (state.Keys.Node) on a heartbeat lease: when the lease
// expires the store deletes the key, and the node's apps are lost until it
// registers again. Register the node before starting the runner, or its
// apps start out lost.
func LostWhenUnregistered(node string) func(view *state.View, now time.Time) bool {
	return func(view *state.View, now time.Time) bool {
		_, registered := view.Nodes[node]
		return !registered
	}
}
