package sensors

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-io/sluice/state"
)

type fixedLister struct {
	containers []state.Container
	err        error
}

func (l *fixedLister) List(context.Context) ([]state.Container, error) {
	return l.containers, l.err
}

type workByID map[string]*state.WorkReport

func (w workByID) Work(c state.Container) *state.WorkReport { return w[c.ID] }

// steppingClock advances by step on every reading.
func steppingClock(start time.Time, step time.Duration) func() time.Time {
	now := start.Add(-step)
	return func() time.Time { now = now.Add(step); return now }
}

func newFixtureSensor(t *testing.T, root string, lister Lister, reg prometheus.Registerer) *Sensor {
	t.Helper()
	host, err := NewHostCollector(HostConfig{ProcRoot: filepath.Join(root, "proc"), SysRoot: filepath.Join(root, "sys")}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	containers := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")},
		pidsByID{victim.ID: 4242}, discardLogger())
	t.Cleanup(func() { containers.Close() })
	apps := map[string]state.AppSpec{"web": {Name: "web", Containers: []state.ContainerSpec{{Name: "victim", Image: "sineload", Class: state.LatencyCritical, CPUSet: "0"}}}}
	sensor, err := NewSensor(SensorConfig{
		Node: "n1", Clock: steppingClock(t0, time.Second), Host: host, Containers: containers, Runtime: lister,
		Metadata: MetadataFromApps(apps),
		Work:     workByID{victim.ID: {Arrived: 0.5, Served: 0.4, Backlog: 0.1}},
		Metrics:  NewMetrics(reg), Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sensor
}

func TestSensorTick(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, hostTree(0, 0, 0, 0, 0, 0))
	writeTree(t, root, v1Tree(0, 0, 0, 0, "4242\n", 0, 0))
	hog := state.Container{ID: "batch/hog", App: "batch", Name: "hog", RuntimeID: "h", Running: true}
	lister := &fixedLister{containers: []state.Container{victim, hog}}
	reg := prometheus.NewRegistry()
	sensor := newFixtureSensor(t, root, lister, reg)
	ctx := context.Background()

	first, err := sensor.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Node != "n1" || !first.Time.Equal(t0) || first.IntervalSeconds != 0 {
		t.Errorf("first tick = node %q time %v interval %g; want n1, t0, 0", first.Node, first.Time, first.IntervalSeconds)
	}
	writeTree(t, root, v1Tree(5e8, 0, 0, 0, "4242\n", 0, 0))
	obs, err := sensor.Tick(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if obs.IntervalSeconds != 1 || len(obs.Containers) != 1 {
		t.Fatalf("second tick: interval %g, %d containers; want 1 s and only the readable victim", obs.IntervalSeconds, len(obs.Containers))
	}
	c := obs.Containers[0]
	if c.Class != state.LatencyCritical || !near(c.CPUUsageCores, 0.5) || c.Work == nil || c.Work.Backlog != 0.1 {
		t.Errorf("victim = %+v; want latency-critical, 0.5 cores and its work report", c)
	}
	// The hog has no process: its collection fails and says so.
	if got := testutil.ToFloat64(sensor.config.Metrics.scrapeSuccess.WithLabelValues("containers")); got != 0 {
		t.Errorf("containers scrape success = %g; want 0 while the hog cannot be read", got)
	}
	if got := testutil.ToFloat64(sensor.config.Metrics.containerErrors); got != 2 {
		t.Errorf("container errors = %g; want 2 (one per tick)", got)
	}

	lister.err = errors.New("engine down")
	if _, err := sensor.Tick(ctx); err == nil || !strings.Contains(err.Error(), "engine down") {
		t.Errorf("tick with the runtime down: err = %v; want the runtime's error", err)
	}
}

func TestSensorOrdersContainers(t *testing.T) {
	observed := []state.ContainerObservation{{ID: "b/x"}, {ID: "a/y"}, {ID: "a/x"}}
	sensor := &Sensor{config: SensorConfig{}}
	got := sensor.enrich(observed, nil)
	if got[0].ID != "a/x" || got[1].ID != "a/y" || got[2].ID != "b/x" || got[0].Class != state.BestEffort {
		t.Errorf("enriched = %+v; want sorted by ID, best-effort without metadata", got)
	}
}

func TestMetricsLint(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, hostTree(0, 0, 0, 0, 0, 0))
	writeTree(t, root, v1Tree(0, 0, 0, 0, "4242\n", 0, 0))
	reg := prometheus.NewRegistry()
	sensor := newFixtureSensor(t, root, &fixedLister{containers: []state.Container{victim}}, reg)
	exporter := NewPrometheusExporter(reg)
	ctx := context.Background()
	for range 2 {
		obs, err := sensor.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := exporter.Export(ctx, obs); err != nil {
			t.Fatal(err)
		}
	}
	sensor.config.Metrics.registrations.Inc()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	count, err := testutil.GatherAndCount(reg, "sluice_container_cpu_quota_cores", "sluice_sensor_scrape_success")
	if err != nil || count != 1+3 {
		t.Errorf("series = %d, %v; want the victim's quota and three scrape results (host, runtime, containers)", count, err)
	}

	// A container that leaves takes its series with it.
	if err := exporter.Export(ctx, state.Observation{Node: "n1", IntervalSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	if count, _ := testutil.GatherAndCount(reg, "sluice_container_cpu_usage_seconds_total"); count != 0 {
		t.Errorf("%d usage series after the container left; want 0", count)
	}
}
