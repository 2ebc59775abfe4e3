package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/actuators/cgroup"
	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/tc"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// nodeRuntime is what the agent drives: the containers, their resources
// and the sensors that observe them, on a real or a simulated node.
type nodeRuntime interface {
	Name() string
	Info(agentVersion string) state.NodeInfo
	Runtime() reconciler.Runtime
	CPU() reconciler.CPUController
	Bandwidth() reconciler.BandwidthController
	Clock() reconciler.Clock
	// Observe returns the observation of the interval that just ended.
	Observe(ctx context.Context, interval time.Duration) (state.Observation, error)
	// Run does the runtime's background work (following the specs in
	// store, trace intake) until ctx ends.
	Run(ctx context.Context, store state.Store) error
	// TraceHandler serves recent traces, or is nil where there are none.
	TraceHandler() http.Handler
	Close() error
}

func openRuntime(ctx context.Context, ao *agentOptions, registry prometheus.Registerer, logger *slog.Logger) (nodeRuntime, error) {
	switch ao.runtime {
	case "sim":
		return newSimRuntime(ao, logger)
	case "docker", "auto":
		// Only a missing engine sends auto to the simulator: a node with
		// an engine whose actuators or trace receivers fail to start is
		// misconfigured, and says so.
		rt, err := docker.New(ctx, docker.Config{Node: ao.node, Store: ao.storeID}, logger)
		switch {
		case err == nil:
			return newDockerRuntime(ctx, rt, ao, registry, logger)
		case ao.runtime == "docker":
			return nil, fmt.Errorf("%w\n(no Docker engine? --runtime sim runs the agent on a simulated node)", err)
		}
		logger.Warn("no usable Docker engine: running a simulated node instead (start dockerd, or pass --runtime docker to insist)",
			"err", err)
		return newSimRuntime(ao, logger)
	default:
		return nil, fmt.Errorf("--runtime %s: unknown runtime (want auto, docker or sim)", ao.runtime)
	}
}

// simRuntime is a simulated node advanced in real time: each interval of
// wall time is one tick of the CPU model.
type simRuntime struct{ node *sim.Node }

func newSimRuntime(ao *agentOptions, logger *slog.Logger) (*simRuntime, error) {
	node, err := sim.NewNode(sim.NodeConfig{
		Name: ao.node, CPUs: ao.simCPUs, Epoch: time.Now().UTC().Truncate(time.Second), Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &simRuntime{node: node}, nil
}

func (s *simRuntime) Name() string { return sim.RuntimeName }

func (s *simRuntime) Info(agentVersion string) state.NodeInfo {
	info := s.node.Info()
	info.AgentVersion = agentVersion
	return info
}

func (s *simRuntime) Runtime() reconciler.Runtime               { return s.node }
func (s *simRuntime) CPU() reconciler.CPUController             { return s.node }
func (s *simRuntime) Bandwidth() reconciler.BandwidthController { return s.node }
func (s *simRuntime) Clock() reconciler.Clock                   { return s.node.Clock() }
func (s *simRuntime) Close() error                              { return nil }

// Run has nothing to do: the simulator's latency comes from its model.
func (s *simRuntime) Run(context.Context, state.Store) error { return nil }

// TraceHandler is nil: a simulated node receives no spans.
func (s *simRuntime) TraceHandler() http.Handler { return nil }

func (s *simRuntime) Observe(_ context.Context, interval time.Duration) (state.Observation, error) {
	return s.node.Tick(interval), nil
}

// dockerRuntime is a real node: Docker containers, cgroups, tc, and the
// procfs and cgroup sensors.
type dockerRuntime struct {
	node      string
	runtime   *docker.Runtime
	cpu       *cgroup.Controller
	bandwidth *tc.Controller
	sensor    *sensors.Sensor
	// work reads sineload's reports of its work queue from its output.
	work *sensors.WorkLog
	// apps holds the latest specs, for the class and cpuset of containers;
	// Run keeps it current.
	apps   atomic.Pointer[map[string]state.AppSpec]
	logger *slog.Logger
	// traces receives the containers' spans; nil when --traces=false.
	traces *traces.Intake
}

// newDockerRuntime builds the node on engine rt, which it closes if it
// fails.
func newDockerRuntime(ctx context.Context, rt *docker.Runtime, ao *agentOptions, registry prometheus.Registerer, logger *slog.Logger) (*dockerRuntime, error) {
	var err error
	d := &dockerRuntime{node: ao.node, runtime: rt, logger: logger}
	if ao.traces {
		if d.traces, err = traces.ListenOnBridge(ctx, rt, ao.intakeConfig(registry, logger)); err != nil {
			rt.Close()
			return nil, fmt.Errorf("%w (or run with --traces=false)", err)
		}
	}
	if err := d.openActuators(logger); err != nil {
		rt.Close()
		return nil, err
	}
	if err := d.openSensor(ctx, ao, logger); err != nil {
		rt.Close()
		return nil, err
	}
	return d, nil
}

func (d *dockerRuntime) openActuators(logger *slog.Logger) error {
	var err error
	if d.cpu, err = cgroup.New(cgroup.Config{PIDs: d.runtime, Logger: logger}); err != nil {
		return fmt.Errorf("cgroup actuator: %w", err)
	}
	if d.bandwidth, err = tc.New(tc.Config{PIDs: d.runtime, Logger: logger}); err != nil {
		return fmt.Errorf("tc actuator: %w", err)
	}
	return nil
}

func (d *dockerRuntime) openSensor(ctx context.Context, ao *agentOptions, logger *slog.Logger) error {
	host, err := sensors.NewHostCollector(sensors.HostConfig{}, logger)
	if err != nil {
		return err
	}
	if d.work, err = sensors.NewWorkLog(ctx, sensors.WorkLogConfig{Logs: d.runtime, Logger: logger}); err != nil {
		return err
	}
	empty := map[string]state.AppSpec{}
	d.apps.Store(&empty)
	d.sensor, err = sensors.NewSensor(sensors.SensorConfig{
		Node: ao.node, Clock: time.Now, Host: host,
		Containers: sensors.NewContainerCollector(sensors.ContainerConfig{}, d.runtime, logger),
		Runtime:    d.runtime,
		Metadata:   func(c state.Container) sensors.Metadata { return sensors.MetadataFromApps(*d.apps.Load())(c) },
		Work:       d.work,
		Logger:     logger,
	})
	return err
}

func (d *dockerRuntime) Name() string { return "docker" }

func (d *dockerRuntime) Info(agentVersion string) state.NodeInfo {
	capacity, _ := sensors.HostCapacity("/proc")
	return state.NodeInfo{Name: d.node, AgentVersion: agentVersion, Runtime: "docker", Capacity: capacity}
}

func (d *dockerRuntime) Runtime() reconciler.Runtime               { return d.runtime }
func (d *dockerRuntime) CPU() reconciler.CPUController             { return d.cpu }
func (d *dockerRuntime) Bandwidth() reconciler.BandwidthController { return d.bandwidth }
func (d *dockerRuntime) Clock() reconciler.Clock                   { return reconciler.WallClock }

// Close stops following the containers' logs before the engine's client
// goes away under them.
func (d *dockerRuntime) Close() error {
	if d.work != nil {
		d.work.Close()
	}
	return d.runtime.Close()
}

// Observe reads the node and adds the latency of the spans its containers
// sent.
func (d *dockerRuntime) Observe(ctx context.Context, _ time.Duration) (state.Observation, error) {
	obs, err := d.sensor.Tick(ctx)
	if err == nil && d.traces != nil {
		d.traces.Apply(&obs)
	}
	return obs, err
}

// specRetry is how long the specs' follower waits before it reads the
// store again after losing it; the sensor keeps the last specs meanwhile.
const specRetry = time.Second

// Run keeps the specs the sensor enriches containers with current, from a
// watch rather than a listing per tick (decoding every spec each second
// was a sixth of an idle agent's CPU), and receives traces, until ctx
// ends.
func (d *dockerRuntime) Run(ctx context.Context, store state.Store) error {
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error {
		state.FollowPrefix(ctx, store, state.AppsPrefix, specRetry, d.logger, func(view *state.View) {
			apps := maps.Clone(view.Apps)
			d.apps.Store(&apps)
		})
		return nil
	})
	if d.traces != nil {
		group.Go(func() error { return d.traces.Run(ctx) })
	}
	return group.Wait()
}

// TraceHandler serves the recent traces for `sluice traces`; nil without
// trace intake.
func (d *dockerRuntime) TraceHandler() http.Handler {
	if d.traces == nil {
		return nil
	}
	return d.traces
}

// intakeConfig is the trace intake the flags ask for.
func (ao *agentOptions) intakeConfig(registry prometheus.Registerer, logger *slog.Logger) traces.IntakeConfig {
	cfg := traces.IntakeConfig{Host: ao.tracesHost, Ports: ao.tracesPorts, Registry: registry, Logger: logger}
	if ao.tracesForward != "" {
		cfg.Forward = &traces.ForwardConfig{Endpoint: ao.tracesForward}
	}
	return cfg
}
