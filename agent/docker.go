package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/actuators/cgroup"
	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/tc"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// The actuators and the runtime are what the reconciler drives.
var (
	_ reconciler.Runtime             = (*docker.Runtime)(nil)
	_ reconciler.RuntimeEvents       = (*docker.Runtime)(nil)
	_ reconciler.CPUController       = recordedCPU{}
	_ reconciler.BandwidthController = (*tc.Controller)(nil)
)

// DockerConfig builds a real node around a Docker engine's runtime.
type DockerConfig struct {
	Node    string
	Runtime *docker.Runtime
	// Intake receives the containers' spans and adds their latency to each
	// observation; nil for none. The node runs it unless SharedIntake says
	// its owner does.
	Intake       *traces.Intake
	SharedIntake bool
	// Metrics are the agent's (Metrics.Sensors); nil counts unregistered.
	Metrics *sensors.Metrics
	Logger  *slog.Logger
}

// DockerNode is a real node: Docker containers, cgroups, tc, and the procfs
// and cgroup sensors.
type DockerNode struct {
	cfg        DockerConfig
	cpu        recordedCPU
	bandwidth  *tc.Controller
	sensor     *sensors.Sensor
	containers *sensors.ContainerCollector
	// work reads sineload's reports of its work queue from its output.
	work *sensors.WorkLog
	// specs are the latest view's, for the sensor's class and cpuset of
	// each container; Observe sets them, on the goroutine that ticks.
	specs map[string]state.AppSpec
}

var _ Node = (*DockerNode)(nil)

// NewDockerNode opens the actuators and sensors of the node.
func NewDockerNode(ctx context.Context, cfg DockerConfig) (*DockerNode, error) {
	d := &DockerNode{cfg: cfg}
	var err error
	if d.cpu.Controller, err = cgroup.New(cgroup.Config{PIDs: cfg.Runtime, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("cgroup actuator: %w", err)
	}
	d.cpu.record = cfg.Runtime.NewCPURecord()
	if d.bandwidth, err = tc.New(tc.Config{PIDs: cfg.Runtime, Logger: cfg.Logger}); err != nil {
		return nil, fmt.Errorf("tc actuator: %w", err)
	}
	host, err := sensors.NewHostCollector(sensors.HostConfig{}, cfg.Logger)
	if err != nil {
		return nil, err
	}
	if d.work, err = sensors.NewWorkLog(ctx, sensors.WorkLogConfig{Logs: cfg.Runtime, Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	d.containers = sensors.NewContainerCollector(sensors.ContainerConfig{}, cfg.Runtime, cfg.Logger)
	d.sensor, err = sensors.NewSensor(sensors.SensorConfig{
		Node: cfg.Node, Clock: time.Now, Host: host, Containers: d.containers, Runtime: cfg.Runtime,
		Metadata: func(c state.Container) sensors.Metadata { return sensors.MetadataFromApps(d.specs)(c) },
		Work:     d.work, Metrics: cfg.Metrics, Logger: cfg.Logger,
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *DockerNode) Runtime() string { return "docker" }

func (d *DockerNode) Info() state.NodeInfo {
	capacity, _ := sensors.HostCapacity("/proc")
	return state.NodeInfo{Name: d.cfg.Node, Runtime: "docker", Capacity: capacity}
}

func (d *DockerNode) Containers() reconciler.Runtime            { return d.cfg.Runtime }
func (d *DockerNode) CPU() reconciler.CPUController             { return d.cpu }
func (d *DockerNode) Bandwidth() reconciler.BandwidthController { return d.bandwidth }
func (d *DockerNode) Clock() reconciler.Clock                   { return reconciler.WallClock }

// Close stops following the containers' logs and releases the files the
// sensors keep open. The engine's runtime is its owner's to close.
func (d *DockerNode) Close() error {
	if d.work != nil {
		d.work.Close()
	}
	if d.containers != nil {
		d.containers.Close()
	}
	return nil
}

// Observe reads the node and adds the latency of the spans its containers
// sent.
func (d *DockerNode) Observe(ctx context.Context, view *state.View) (state.Observation, error) {
	if view != nil {
		d.specs = view.Apps
	}
	obs, err := d.sensor.Tick(ctx)
	if err == nil && d.cfg.Intake != nil {
		d.cfg.Intake.Apply(&obs)
	}
	return obs, err
}

// Run brings the engine's record of CPU settings in line with the cgroups,
// and receives traces unless the intake's owner runs it, until ctx ends.
func (d *DockerNode) Run(ctx context.Context) error {
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return d.cpu.record.Run(ctx) })
	if d.cfg.Intake != nil && !d.cfg.SharedIntake {
		group.Go(func() error { return d.cfg.Intake.Run(ctx) })
	}
	return group.Wait()
}

// recordedCPU writes CPU settings to the cgroup, the fast path the
// reconciler waits on, and then has the engine record them (off the loop),
// so that `docker inspect` agrees with what the container runs under.
type recordedCPU struct {
	*cgroup.Controller
	record *docker.CPURecord
}

func (r recordedCPU) SetCPU(ctx context.Context, c state.Container, res state.CPUResources) error {
	if err := r.Controller.SetCPU(ctx, c, res); err != nil {
		return err
	}
	r.record.Record(c, res)
	return nil
}

// TraceHandler serves the recent traces for `sluice traces`; nil without
// trace intake.
func (d *DockerNode) TraceHandler() http.Handler {
	if d.cfg.Intake == nil {
		return nil
	}
	return d.cfg.Intake
}
