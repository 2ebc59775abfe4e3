package sensors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Lister lists the runtime's containers; reconciler.Runtime is one.
type Lister interface {
	List(ctx context.Context) ([]state.Container, error)
}

// Metadata is what the spec says about a container that its cgroup cannot.
type Metadata struct {
	Class state.Class
	// CPUSet is the spec's pinning, reported when the cgroup shows none.
	CPUSet string
}

// MetadataFunc looks a container up in the current specs. The agent
// builds it from its View (MetadataFromApps); it is called once per
// container per tick, from the goroutine that calls Tick.
type MetadataFunc func(c state.Container) Metadata

// WorkSource is implemented by whoever reads a workload's own reports
// (sineload prints one JSON line per tick on stdout). Work returns the
// report covering the time since its previous call for that container,
// or nil when the container reports nothing.
type WorkSource interface {
	Work(c state.Container) *state.WorkReport
}

// SensorConfig wires a Sensor. Node, Clock, Host, Containers and Runtime
// are required.
type SensorConfig struct {
	Node string
	// Clock is the node's clock; every rate is over its readings.
	Clock      func() time.Time
	Host       *HostCollector
	Containers *ContainerCollector
	Runtime    Lister
	// Metadata gives each container's class; nil makes all best-effort.
	Metadata MetadataFunc
	// Work adds workloads' own reports; nil for none.
	Work    WorkSource
	Metrics *Metrics
	Logger  *slog.Logger
}

// Sensor is the pipeline that turns raw counters into one Observation per
// tick. Its stages follow a collector's usual shape: the collectors
// receive raw counters and analyse them into rates; Tick processes them
// (enriching containers with spec metadata and work reports) and returns
// the result, which the caller hands to the exporters (StoreWriter,
// PrometheusExporter).
type Sensor struct {
	config   SensorConfig
	lastTick time.Time
	logger   *slog.Logger
}

// NewSensor checks the configuration.
func NewSensor(config SensorConfig) (*Sensor, error) {
	switch {
	case config.Node == "":
		return nil, errors.New("sensor: Node is required")
	case config.Clock == nil:
		return nil, errors.New("sensor: Clock is required")
	case config.Host == nil || config.Containers == nil || config.Runtime == nil:
		return nil, errors.New("sensor: Host, Containers and Runtime are required")
	}
	if config.Metrics == nil {
		config.Metrics = NewMetrics(nil)
	}
	if config.Logger == nil {
		config.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sensor{config: config, logger: config.Logger.With("node", config.Node)}, nil
}

// Tick collects one observation ending now on the sensor's clock. It
// fails when the host or the runtime's list cannot be read, since an
// observation without them would tell the policy that containers are
// gone. A single container that cannot be read is left out, logged and
// counted.
func (s *Sensor) Tick(ctx context.Context) (state.Observation, error) {
	now := s.config.Clock()
	obs := state.Observation{Node: s.config.Node, Time: now, Containers: []state.ContainerObservation{}}
	if !s.lastTick.IsZero() {
		obs.IntervalSeconds = now.Sub(s.lastTick).Seconds()
	}
	s.lastTick = now

	host, err := timed(s.config.Metrics, "host", func() (state.HostObservation, error) { return s.config.Host.Collect(now) })
	if err != nil {
		return obs, fmt.Errorf("tick of node %s: %w", s.config.Node, err)
	}
	obs.Host = host
	containers, err := timed(s.config.Metrics, "runtime", func() ([]state.Container, error) { return s.config.Runtime.List(ctx) })
	if err != nil {
		return obs, fmt.Errorf("tick of node %s: list containers: %w", s.config.Node, err)
	}
	observed, err := timed(s.config.Metrics, "containers", func() ([]state.ContainerObservation, error) {
		return s.config.Containers.Collect(ctx, now, containers)
	})
	if err != nil {
		s.logger.Warn("containers left out of the observation", "err", err)
		s.config.Metrics.containerErrors.Add(float64(countJoined(err)))
	}
	obs.Containers = s.enrich(observed, containers)
	return obs, nil
}

// enrich is the processor stage: class and pinning from the spec, the
// workload's own report, and the order the fold and the policy rely on.
func (s *Sensor) enrich(observed []state.ContainerObservation, containers []state.Container) []state.ContainerObservation {
	byID := make(map[string]state.Container, len(containers))
	for _, c := range containers {
		byID[c.ID] = c
	}
	for i := range observed {
		c := byID[observed[i].ID]
		meta := Metadata{Class: state.BestEffort}
		if s.config.Metadata != nil {
			meta = s.config.Metadata(c)
		}
		observed[i].Class = meta.Class
		if observed[i].CPUSet == "" {
			observed[i].CPUSet = meta.CPUSet
		}
		if s.config.Work != nil {
			observed[i].Work = s.config.Work.Work(c)
		}
	}
	sort.Slice(observed, func(i, j int) bool { return observed[i].ID < observed[j].ID })
	if observed == nil {
		observed = []state.ContainerObservation{}
	}
	return observed
}

func timed[T any](m *Metrics, sensor string, collect func() (T, error)) (T, error) {
	// Durations are for operators; they never enter an observation.
	start := time.Now()
	value, err := collect()
	m.scraped(sensor, time.Since(start), err)
	return value, err
}

func countJoined(err error) int {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		return len(joined.Unwrap())
	}
	return 1
}

// MetadataFromApps looks containers up in app specs by app and name;
// containers of unknown apps are best-effort.
func MetadataFromApps(apps map[string]state.AppSpec) MetadataFunc {
	return func(c state.Container) Metadata {
		for _, spec := range apps[c.App].Containers {
			if spec.Name == c.Name {
				return Metadata{Class: spec.Class, CPUSet: spec.CPUSet}
			}
		}
		return Metadata{Class: state.BestEffort}
	}
}
