package experiment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// RealConfig is a run on this host: real containers on the Docker engine,
// their CPU settings in cgroups, usage and run-queue wait from cgroups and
// the victim's work from its own reports on its output.
type RealConfig struct {
	Config
	// DockerHost is the engine's address; empty means DOCKER_HOST or the
	// default socket.
	DockerHost string
	// NodeName labels the run's containers; empty means a name unique to
	// the run, so that nothing else on the engine is touched.
	NodeName string
	// WorkTimeout is how long the victim may go without reporting work
	// before its phase fails [5 s].
	WorkTimeout time.Duration
	// TracePorts are the trace receivers' ports, as
	// traces.IntakeConfig.Ports; nil means any free ones, which the
	// containers are told of, so that an agent on the host holding the
	// standard ports does not stop the run.
	TracePorts map[string]int
}

// cleanupTimeout bounds the removal of a phase's containers, which runs
// even after the run's context has ended.
const cleanupTimeout = 30 * time.Second

// RunReal runs every phase of the scenario on this host's Docker engine,
// each from a clean node: the phase's containers are removed when it ends,
// also when it fails or ctx ends. Ticks follow the wall clock. The process
// itself is pinned, for the run, to the CPUs no container of the scenario
// is pinned to, so the loop does not compete with the victim.
func RunReal(ctx context.Context, cfg RealConfig) (*Result, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = uniqueNodeName(cfg.Scenario.Name)
	}
	if cfg.WorkTimeout <= 0 {
		cfg.WorkTimeout = 5 * time.Second
	}
	restore, err := pinAwayFromScenario(*cfg.Scenario)
	if err != nil {
		logger.Warn("the experiment shares CPUs with its containers", "err", err)
	}
	defer restore()
	rt, err := docker.New(ctx, docker.Config{Node: cfg.NodeName, Host: cfg.DockerHost}, logger)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	if err := checkImages(ctx, rt, *cfg.Scenario); err != nil {
		return nil, err
	}
	if cfg.TracePorts == nil {
		cfg.TracePorts = traces.AnyFreePorts()
	}
	intake, stopIntake := listenForTraces(ctx, rt, cfg.TracePorts, logger)
	defer stopIntake()
	cfg.Logger = logger
	return runLoop(ctx, cfg.Config, mode{
		// Creating a container from a scratch image takes a second or
		// two on this engine, more on a loaded one.
		absenceLimit: 10 * time.Second,
		name:         report.ModeReal,
		node: func(ctx context.Context, _ int, store state.Store) (phaseNode, error) {
			return newRealPhaseNode(ctx, cfg, store, intake)
		},
		progress: func(phase scenario.Phase, events int) string {
			return fmt.Sprintf("%5.0f s on node %s, %d events", phase.DurationSeconds, cfg.NodeName, events)
		},
	})
}

// listenForTraces receives the containers' spans for the victim's latency.
// Without it (the ports are taken, say by an agent on this host) the run
// goes on with the CPU measurements alone and says so.
func listenForTraces(ctx context.Context, rt *docker.Runtime, ports map[string]int, logger *slog.Logger) (*traces.Intake, func()) {
	intake, err := traces.ListenOnBridge(ctx, rt, traces.IntakeConfig{Ports: ports, Logger: logger})
	if err != nil {
		logger.Warn("no trace intake: the victim's latency will be missing from the results", "err", err)
		return nil, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := intake.Run(ctx); err != nil {
			logger.Warn("trace intake stopped", "err", err)
		}
	}()
	return intake, func() { cancel(); <-done }
}

// uniqueNodeName is the scenario's name with a random suffix.
func uniqueNodeName(scenarioName string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "experiment-" + strings.ToLower(scenarioName) + "-" + hex.EncodeToString(b[:])
}

// checkImages fails early, with the fix, when an app's image is missing:
// the reconciler would otherwise retry the creation for the whole phase.
func checkImages(ctx context.Context, rt *docker.Runtime, sc scenario.Scenario) error {
	for _, app := range sc.Apps {
		for _, c := range app.Spec.Containers {
			if _, err := rt.Client().ImageInspect(ctx, c.Image); err != nil {
				return fmt.Errorf("image %s of %s: %w (make images builds the workload images)",
					c.Image, state.ContainerID(app.Spec.Name, c.Name), err)
			}
		}
	}
	return nil
}

// realPhaseNode is the host during one phase: the agent's Docker node on
// a runtime of the phase's own, which labels the containers with the
// identity of the phase's fresh store, and sensors of its own so that
// rates start afresh.
type realPhaseNode struct {
	cfg     RealConfig
	node    *agent.DockerNode
	rt      *docker.Runtime
	storeID string
	tick    time.Duration

	// start is when the phase's clock started: once the apps due at 0
	// run. lastObserved is the end of the previous tick.
	start, lastObserved time.Time
	// lastWork is when the victim last reported work.
	lastWork time.Time
	pending  pendingTicks
}

// pendingTicks accumulates ticks in which the victim reported no work,
// in CPU-seconds, to fold them into the next tick that has a report.
type pendingTicks struct {
	seconds, victimUsage, victimWait, hogUsage float64
	bestEffort                                 report.CPUSeconds
}

func newRealPhaseNode(ctx context.Context, cfg RealConfig, store state.Store, intake *traces.Intake) (*realPhaseNode, error) {
	storeID, err := agent.StoreIdentity(ctx, store)
	if err != nil {
		return nil, err
	}
	rt, err := docker.New(ctx, docker.Config{Node: cfg.NodeName, Host: cfg.DockerHost, Store: storeID}, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if intake != nil {
		// The run's intake told the run's runtime where it listens; the
		// phase's runtime must tell the phase's containers too.
		rt.SetEnv(intake.Env())
	}
	node, err := agent.NewDockerNode(ctx, agent.DockerConfig{
		Node: cfg.NodeName, Runtime: rt, Intake: intake, SharedIntake: true, Logger: cfg.Logger,
	})
	if err != nil {
		rt.Close()
		return nil, err
	}
	return &realPhaseNode{
		cfg: cfg, node: node, rt: rt, storeID: storeID,
		tick: time.Duration(cfg.Scenario.TickSeconds * float64(time.Second)),
	}, nil
}

func (r *realPhaseNode) Node() agent.Node { return r.node }

func (r *realPhaseNode) StoreID() string { return r.storeID }

// RunnerBase keeps the reconciler's defaults: crypto/rand GUIDs, the
// wall clock.
func (r *realPhaseNode) RunnerBase() reconciler.RunnerConfig { return reconciler.RunnerConfig{} }

// Pace waits for the end of tick k on the wall clock. The phase's clock
// starts at the first call, after the apps due at 0 were created, with a
// reading that gives the first tick its rates (and takes the spans that
// came in before the phase: the previous phase's victim flushing as it
// stopped). A tick that starts late (a container took long to create)
// still lasts at least half a tick, so that every tick is long enough to
// measure.
func (r *realPhaseNode) Pace(ctx context.Context, k int) error {
	if r.start.IsZero() {
		obs, err := r.node.Observe(ctx, nil)
		if err != nil {
			return err
		}
		r.start, r.lastObserved, r.lastWork = obs.Time, obs.Time, obs.Time
	}
	deadline := r.start.Add(time.Duration(k+1) * r.tick)
	if earliest := r.lastObserved.Add(r.tick / 2); deadline.Before(earliest) {
		deadline = earliest
	}
	return sleepUntil(ctx, deadline)
}

func sleepUntil(ctx context.Context, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Measure reads the victim's and the hog's CPU from the observation and
// the victim's work from its reports. A tick in which the victim reported
// nothing is folded into the next one, so that work and CPU always cover
// the same stretch of time.
func (r *realPhaseNode) Measure(obs state.Observation) (tickMeasure, bool, error) {
	r.lastObserved = obs.Time
	victim, hog := findContainer(obs, r.cfg.Scenario.Victim), findContainer(obs, r.cfg.Scenario.Hog)
	dt := obs.IntervalSeconds
	r.pending.seconds += dt
	usage := map[string]float64{}
	for _, c := range obs.Containers {
		usage[c.ID] = c.CPUUsageCores
	}
	if r.pending.bestEffort == nil {
		r.pending.bestEffort = report.CPUSeconds{}
	}
	r.pending.bestEffort.Add(bestEffortCPU(*r.cfg.Scenario, usage), dt)
	var quota *float64
	if hog != nil {
		r.pending.hogUsage += hog.CPUUsageCores * dt
		quota = hog.CPUQuotaCores
	}
	if victim != nil {
		r.pending.victimUsage += victim.CPUUsageCores * dt
		r.pending.victimWait += victim.RunQueueWaitCores * dt
	}
	if victim == nil || victim.Work == nil || r.pending.seconds <= 0 {
		if silent := obs.Time.Sub(r.lastWork); silent > r.cfg.WorkTimeout {
			return tickMeasure{}, false, fmt.Errorf("victim %s reported no work for %.1f s (is it running sineload, whose reports are on its output?)",
				r.cfg.Scenario.Victim, silent.Seconds())
		}
		return tickMeasure{}, false, nil
	}
	r.lastWork = obs.Time
	p := r.pending
	r.pending = pendingTicks{}
	return tickMeasure{
		Seconds: obs.Time.Sub(r.start).Seconds(), IntervalSeconds: p.seconds,
		Victim: containerMeasure{
			DemandCores: victim.Work.Arrived / p.seconds, UsageCores: p.victimUsage / p.seconds,
			WaitCores: p.victimWait / p.seconds, Work: victim.Work, Latency: victim.Latency,
			QuotaCores: victim.CPUQuotaCores,
		},
		Hog:        containerMeasure{UsageCores: p.hogUsage / p.seconds, QuotaCores: quota},
		BestEffort: p.bestEffort.Rates(),
	}, true, nil
}

func findContainer(obs state.Observation, id string) *state.ContainerObservation {
	for i := range obs.Containers {
		if obs.Containers[i].ID == id {
			return &obs.Containers[i]
		}
	}
	return nil
}

// Close removes every container of the node, whichever store's label it
// carries (the runtime lists the node's containers, not one store's), and
// stops reading them. It brings its own deadline: it must run after an
// interrupt too.
func (r *realPhaseNode) Close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := removeAll(ctx, r.rt)
	r.node.Close()
	return errors.Join(err, r.rt.Close())
}

func removeAll(ctx context.Context, rt *docker.Runtime) error {
	left, err := rt.List(ctx)
	if err != nil {
		return fmt.Errorf("remove the phase's containers: %w", err)
	}
	var errs []error
	for _, c := range left {
		if err := rt.Remove(ctx, c); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}
