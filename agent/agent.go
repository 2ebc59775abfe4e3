package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors"
	"github.com/sluice-io/sluice/state"
)

// Config is one node's agent. Zero values take the defaults in brackets.
type Config struct {
	// Node is the node's name. Required.
	Node string
	// Version is the agent's version, recorded in the registration.
	Version string
	// Interval is how often the node is observed and decided on [1 s].
	Interval time.Duration
	// HeartbeatTTL is the registration's lease: the node counts as lost
	// after this long without a heartbeat [10 s].
	HeartbeatTTL time.Duration
	// PolicyDir is the Rego bundle; empty is the bundle compiled into
	// sluice. Files under /sluice/policies/ override either.
	PolicyDir string
	// PolicyPoll is how often PolicyDir is read for changes [2 s].
	PolicyPoll time.Duration
	// PolicyTimeout bounds each evaluation of the policy [Interval/4]: one
	// that runs longer is cancelled, and a bundle that did so is rejected,
	// the last good one back in force.
	PolicyTimeout time.Duration
	// ResyncEvery is how many intervals pass between the reconciler's
	// safety passes when nothing wakes it [60]. Specs, decisions and the
	// runtime's events (believed before the engine's listing agrees) wake
	// it at once; a resync only catches what no event reported, and costs
	// a listing and a read of every container's settings.
	ResyncEvery int
	// TerminatedRetention is how long a terminated app stays listed before
	// its status is deleted [reconciler.DefaultTerminatedRetention].
	TerminatedRetention time.Duration
	// MetricsAddr serves /metrics, /traces and the pages (WithPages);
	// empty serves nothing.
	MetricsAddr string
	// StoreTimeout bounds each write the loop makes to the store [2 s].
	StoreTimeout time.Duration
	// StoreID is the store's identity (StoreIdentity), which the node's
	// runtime labels every container it creates with (docker.Config.Store).
	// The reconciler leaves alone the containers of any other store, and
	// every container while the store knows nothing of the node, until the
	// node is claimed. Empty leaves ownership out: a node whose runtime
	// labels nothing (the simulator) has every container as its own.
	StoreID string
	// ClaimContainers claims the node at start, as `sluice node reset`
	// does: every container on it is this store's, to adopt or remove.
	ClaimContainers bool
	Logger          *slog.Logger
}

func (c *Config) defaults() error {
	if c.Node == "" {
		return errors.New("agent: Config.Node is required")
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.PolicyTimeout <= 0 {
		c.PolicyTimeout = c.Interval / 4
	}
	if c.HeartbeatTTL <= 0 {
		c.HeartbeatTTL = 10 * time.Second
	}
	if c.PolicyPoll <= 0 {
		c.PolicyPoll = 2 * time.Second
	}
	if c.ResyncEvery <= 0 {
		c.ResyncEvery = 60
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Hooks let tests and benchmarks watch the loop. Nil fields are skipped;
// each runs on its loop's goroutine and must return quickly.
type Hooks struct {
	// ObservationWriting is called as an observation is handed to the store.
	ObservationWriting func(obs state.Observation)
	// ActionDone is called after the reconciler carried out an action, with
	// the view it acted on.
	ActionDone func(action reconciler.Action, view *state.View)
	// Stepped is called after each Step that wrote its
	// observation, with the time from that write's return to the policy
	// step's outcome recorded (a changed decision written, or an unchanged
	// one found).
	Stepped func(result StepResult, decisionLatency time.Duration)
}

// Option adjusts an Agent beyond its Config.
type Option func(*Agent)

// WithMetrics makes the agent count in m, which the node's own metrics
// (NewDockerNode, the trace intake) may share.
func WithMetrics(m *Metrics) Option { return func(a *Agent) { a.metrics = m } }

// WithHooks installs hooks.
func WithHooks(h Hooks) Option { return func(a *Agent) { a.hooks = h } }

// WithPolicyBundle makes the agent evaluate b instead of loading
// Config.PolicyDir, for runs that must not pick up edits (experiments).
func WithPolicyBundle(b *policies.Bundle) Option { return func(a *Agent) { a.bundle = b } }

// WithoutPolicy makes Step observe and reconcile without deciding, for an
// experiment's phases that run without control or with static settings.
func WithoutPolicy() Option { return func(a *Agent) { a.noPolicy = true } }

// WithRunnerConfig lets a caller set the reconciler's seeded randomness and
// backoffs; the agent fills in the node, store, actuators and clock.
func WithRunnerConfig(rc reconciler.RunnerConfig) Option {
	return func(a *Agent) { a.runnerBase = rc }
}

// Agent is one node's control loop.
type Agent struct {
	cfg        Config
	store      state.Store
	node       Node
	log        *slog.Logger
	hooks      Hooks
	bundle     *policies.Bundle
	runnerBase reconciler.RunnerConfig

	metrics   *Metrics
	follower  *state.Follower
	reloader  *policies.Reloader
	runner    *reconciler.Runner
	writer    *sensors.StoreWriter
	heartbeat *sensors.Heartbeat
	noPolicy  bool
	// buildPages and pages are the web pages served beside the metrics.
	buildPages func(PageSources) (Pages, error)
	pages      Pages
	// running is set by Run: the reconciler then wakes on its own and
	// Step leaves it alone.
	running bool
	// rejected is the digest of the last bundle whose rejection was
	// recorded, so a broken bundle is recorded once, not once per tick.
	rejected string
	// failing is the stage and bundle of the policy's last failure, empty
	// while it decides: it is logged once per change.
	failing string
}

// New builds the agent of node on store; it reads and writes nothing yet.
func New(ctx context.Context, store state.Store, node Node, cfg Config, opts ...Option) (*Agent, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, store: store, node: node, log: cfg.Logger.With("node", cfg.Node), metrics: NewMetrics()}
	for _, opt := range opts {
		opt(a)
	}
	var err error
	if a.reloader, err = a.newReloader(ctx); err != nil {
		return nil, err
	}
	info := node.Info()
	info.Name, info.AgentVersion = cfg.Node, cfg.Version
	if a.heartbeat, err = sensors.NewHeartbeat(store, sensors.HeartbeatConfig{
		Info: info, TTL: cfg.HeartbeatTTL, Metrics: a.metrics.Sensors, Logger: cfg.Logger,
	}); err != nil {
		return nil, err
	}
	a.follower = state.NewFollower(store, cfg.Node, state.FollowerConfig{Logger: cfg.Logger})
	a.metrics.view.follow(cfg.Node, a.follower.View)
	a.writer = sensors.NewStoreWriter(store, sensors.StoreWriterConfig{WriteTimeout: a.writeTimeout()}, a.metrics.Sensors, a.log)
	a.runner = reconciler.NewRunner(a.runnerConfig())
	if err := a.newPages(); err != nil {
		return nil, err
	}
	return a, nil
}

// writeTimeout bounds the loop's own writes, of observations and statuses,
// to half an interval. A tick that waited longer on an unreachable store
// would run into the next one, which the ticker then skips, so that tick
// would never be observed; a reconciler pass that waited longer would hold
// up the restart of a container that died meanwhile. What the store does
// not take in time waits in a buffer and is written once it answers.
func (a *Agent) writeTimeout() time.Duration {
	return min(a.cfg.StoreTimeout, a.cfg.Interval/2)
}

func (a *Agent) newReloader(ctx context.Context) (*policies.Reloader, error) {
	if a.bundle != nil {
		return policies.NewFixedReloader(ctx, a.bundle, a.log)
	}
	return policies.NewReloader(ctx, a.cfg.PolicyDir, a.log)
}

func (a *Agent) runnerConfig() reconciler.RunnerConfig {
	rc := a.runnerBase
	rc.Node, rc.Store, rc.Follower = a.cfg.Node, a.store, a.follower
	rc.Runtime, rc.CPU, rc.Bandwidth, rc.Clock = a.node.Containers(), a.node.CPU(), a.node.Bandwidth(), a.node.Clock()
	rc.Logger = a.cfg.Logger // the runner names the node itself
	rc.StoreTimeout = a.writeTimeout()
	if rc.ResyncInterval <= 0 {
		rc.ResyncInterval = time.Duration(a.cfg.ResyncEvery) * a.cfg.Interval
	}
	rc.NodeLost = reconciler.LostWhenUnregistered(a.cfg.Node)
	rc.ActionDone = func(action reconciler.Action, view *state.View) {
		a.metrics.acted(action, nil)
		if a.hooks.ActionDone != nil {
			a.hooks.ActionDone(action, view)
		}
	}
	rc.ActionFailed = a.metrics.acted
	rc.Transitioned = a.metrics.transitioned
	rc.StoreID, rc.ClaimContainers = a.cfg.StoreID, a.cfg.ClaimContainers
	rc.TerminatedRetention = a.cfg.TerminatedRetention
	return rc
}

func (a *Agent) lostNodes() *lostNodes {
	return &lostNodes{store: a.store, self: a.cfg.Node, timeout: a.cfg.StoreTimeout, clock: a.node.Clock(), log: a.log}
}

// storeIdentityTimeout bounds the read, or creation, of the identity.
const storeIdentityTimeout = 10 * time.Second

// StoreIdentity returns the identity of store, creating it on a store that
// has none yet: the first agent on a fresh store gives it one. The caller
// labels the node's containers with it (docker.Config.Store) and hands it
// to the agent (Config.StoreID), so it is read before either is built.
func StoreIdentity(ctx context.Context, store state.Store) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, storeIdentityTimeout)
	defer cancel()
	id, err := state.EnsureClusterID(ctx, store, time.Now())
	if err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	return id, nil
}

// Register writes the node's registration on a new lease.
func (a *Agent) Register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.StoreTimeout)
	defer cancel()
	if err := a.heartbeat.Register(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", a.cfg.Node, err)
	}
	return nil
}

// Run registers the node and runs its loops until ctx ends: the follower,
// the heartbeat, the policy reload, the reconciler, the node's own work,
// the metrics server, one Step per interval, and the marking of other
// nodes lost when their registration goes (lostNodes). On return the buffered
// observations have been flushed (within a deadline) and the lease
// revoked; the containers keep running for the next agent to adopt.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.registerUntilDone(ctx); err != nil {
		return err
	}
	a.running = true
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return a.follower.Run(ctx) })
	group.Go(func() error { return a.heartbeat.Run(ctx) })
	group.Go(func() error { a.reloader.Run(ctx, a.cfg.PolicyPoll); return nil })
	group.Go(func() error { return a.runner.Run(ctx) })
	group.Go(func() error { return a.node.Run(ctx) })
	group.Go(func() error { return a.tick(ctx) })
	group.Go(func() error { return a.lostNodes().run(ctx, a.follower) })
	if a.cfg.MetricsAddr != "" {
		group.Go(func() error { return a.metrics.serve(ctx, a.cfg.MetricsAddr, a.node.TraceHandler(), a.pages, a.log) })
		if a.pages != nil {
			group.Go(func() error { return a.pages.Run(ctx) })
		}
	}
	return group.Wait()
}

// registerBackoff paces the registrations tried while the store does not
// answer.
var registerBackoff = state.Backoff{Initial: time.Second, Max: 5 * time.Second}

// registerUntilDone registers the node, trying again with backoff while
// the store does not answer: until it is registered, its reconciler would
// take the node for lost, and an agent that gave up would leave its
// containers unwatched.
func (a *Agent) registerUntilDone(ctx context.Context) error {
	for failures := 0; ; failures++ {
		err := a.Register(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		delay := registerBackoff.Delay(failures)
		a.log.Warn("cannot register the node yet; trying again", "err", err, "retry", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// tick runs one Step per interval, and flushes the buffered observations
// when ctx ends.
func (a *Agent) tick(ctx context.Context) error {
	ticker := time.NewTicker(a.cfg.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.StoreTimeout)
			defer cancel()
			if err := a.writer.Flush(flushCtx); err != nil {
				a.log.Warn("observations left unflushed at shutdown", "err", err, "buffered", a.writer.Buffered())
			}
			return nil
		case <-ticker.C:
		}
		if _, err := a.Step(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("tick failed", "err", err)
		}
	}
}
