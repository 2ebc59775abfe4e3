package experiment

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// TestShieldSineCommandsFollowTheirDemand holds the real workloads to the
// demand the simulator models: sineload takes the victim's DemandSpec from
// the $SLUICE_DEMAND the runtime sets, so its command must name no demand
// of its own; its reports divide the scenario's tick; and the hog keeps as
// many threads busy as its constant demand has cores.
func TestShieldSineCommandsFollowTheirDemand(t *testing.T) {
	sc := loadShieldSine(t, 1)
	victim, _ := sc.Container(sc.Victim)
	var reportTick time.Duration
	sineload := flag.NewFlagSet("sineload", flag.ContinueOnError)
	sineload.SetOutput(io.Discard)
	for _, name := range []string{"base", "amplitude", "period", "demand", "unit"} {
		sineload.String(name, "", "")
	}
	sineload.DurationVar(&reportTick, "tick", 0, "")
	if err := sineload.Parse(victim.Cmd); err != nil {
		t.Fatalf("victim cmd %q: %v", victim.Cmd, err)
	}
	sineload.Visit(func(f *flag.Flag) {
		if f.Name != "tick" && f.Name != "unit" {
			t.Errorf("victim cmd %q sets --%s, which would override the demand of its spec", victim.Cmd, f.Name)
		}
	})
	if d := victim.Demand; d == nil || d.Kind != "sine" {
		t.Fatalf("victim demand %+v, want a sine", d)
	}
	ticksPerReport := sc.TickSeconds / reportTick.Seconds()
	if reportTick <= 0 || math.Abs(ticksPerReport-math.Round(ticksPerReport)) > 1e-9 || ticksPerReport < 2 {
		t.Errorf("sineload reports every %v: want a tick that divides tick_seconds %g at least twice, so every tick has reports",
			reportTick, sc.TickSeconds)
	}

	hog, _ := sc.Container(sc.Hog)
	var threads int
	cpuhog := flag.NewFlagSet("cpuhog", flag.ContinueOnError)
	cpuhog.SetOutput(io.Discard)
	cpuhog.IntVar(&threads, "threads", 0, "")
	if err := cpuhog.Parse(hog.Cmd); err != nil {
		t.Fatalf("hog cmd %q: %v", hog.Cmd, err)
	}
	if hog.Demand == nil || hog.Demand.Kind != "constant" || float64(threads) != hog.Demand.Value {
		t.Errorf("hog cmd keeps %d threads busy; its demand is %+v", threads, hog.Demand)
	}
}

// A tick without a work report from the victim is folded into the next,
// so that work and CPU cover the same time.
func TestRealMeasureFoldsTicksWithoutReports(t *testing.T) {
	sc := loadShieldSine(t, 1)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	node := &realPhaseNode{cfg: RealConfig{Config: Config{Scenario: sc}, WorkTimeout: time.Second}, start: start, lastWork: start}
	quota := 0.4
	observe := func(at time.Duration, work *state.WorkReport) state.Observation {
		return state.Observation{Time: start.Add(at), IntervalSeconds: 0.25, Containers: []state.ContainerObservation{
			{ID: sc.Hog, CPUUsageCores: 0.4, CPUQuotaCores: &quota},
			{ID: sc.Victim, CPUUsageCores: 0.6, RunQueueWaitCores: 0.2, Work: work},
		}}
	}
	if _, ok, err := node.Measure(observe(250*time.Millisecond, nil)); ok || err != nil {
		t.Fatalf("a tick without a report: ok %v, err %v; want it folded", ok, err)
	}
	work := &state.WorkReport{Arrived: 0.3, Served: 0.25, Backlog: 0.1}
	m, ok, err := node.Measure(observe(500*time.Millisecond, work))
	if !ok || err != nil {
		t.Fatalf("ok %v, err %v", ok, err)
	}
	want := tickMeasure{Seconds: 0.5, IntervalSeconds: 0.5,
		Victim: containerMeasure{DemandCores: 0.6, UsageCores: 0.6, WaitCores: 0.2, Work: work},
		Hog:    containerMeasure{UsageCores: 0.4, QuotaCores: &quota}}
	if m.Seconds != want.Seconds || m.IntervalSeconds != want.IntervalSeconds || m.Victim != want.Victim ||
		m.Hog.UsageCores != want.Hog.UsageCores || m.Hog.QuotaCores != want.Hog.QuotaCores {
		t.Fatalf("measured %+v, want %+v", m, want)
	}
	if _, _, err := node.Measure(observe(1600*time.Millisecond, nil)); err == nil {
		t.Fatal("a victim silent for longer than WorkTimeout did not fail the phase")
	}
}

func TestPinAwayFromTheScenariosCPUs(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs: with one, nothing is free of the scenario")
	}
	sc := loadShieldSine(t, 1)
	restore, err := pinAwayFromScenario(*sc)
	if err != nil {
		t.Fatal(err)
	}
	var pinned unix.CPUSet
	if err := unix.SchedGetaffinity(0, &pinned); err != nil {
		t.Fatal(err)
	}
	restore()
	if pinned.IsSet(0) {
		t.Error("the process may still run on CPU 0, the victim's")
	}
	var restored unix.CPUSet
	if err := unix.SchedGetaffinity(0, &restored); err != nil {
		t.Fatal(err)
	}
	if !restored.IsSet(0) {
		t.Error("restore did not give CPU 0 back")
	}
}

// realScenario is shield-sine cut to the phases that show the ordering,
// short enough for CI.
func realScenario(t *testing.T, scale float64, phases ...string) *scenario.Scenario {
	t.Helper()
	sc := loadShieldSine(t, scale)
	var kept []scenario.Phase
	for _, p := range sc.Phases {
		for _, name := range phases {
			if p.Name == name {
				kept = append(kept, p)
			}
		}
	}
	sc.Phases = kept
	return sc
}

// realNode builds the workload images from the current source and
// returns a node name for the run alone; whatever a failed test leaves on
// it is removed when the test ends.
func realNode(t *testing.T) string {
	t.Helper()
	testenv.RequireDocker(t)
	testenv.RequireCgroups(t)
	rt := dockertest.Runtime(t)
	dockertest.Image(t, rt, docker.Sineload)
	dockertest.Image(t, rt, docker.CPUHog)
	node := dockertest.NodeName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		own, err := docker.New(ctx, docker.Config{Node: node}, dockertest.Logger(t))
		if err != nil {
			t.Error(err)
			return
		}
		defer own.Close()
		if err := removeAll(ctx, own); err != nil {
			t.Error(err)
		}
	})
	return node
}

// TestRealShieldSine runs the headline experiment on real containers at a
// small scale: the outputs exist and are well-formed, the policy shields
// the victim better than no control, the recording replays with zero
// differing decisions, and nothing is left running.
func TestRealShieldSine(t *testing.T) {
	node := realNode(t)
	holdStandardTracePort(t)
	sc := realScenario(t, 0.3, "contended", "shielded")
	res, err := RunReal(context.Background(), RealConfig{
		Config:   Config{Scenario: sc, Bundle: loadBundle(t), Stores: MemoryStores, Logger: dockertest.Logger(t)},
		NodeName: node,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteOutputs(dir, *sc, res); err != nil {
		t.Fatal(err)
	}
	summary := readSummary(t, filepath.Join(dir, SummaryFile))
	for _, p := range summary.Phases {
		t.Logf("%s: satisfaction %.3f, hog share %v, time to shield %v, ticks %d",
			p.Name, p.VictimCPUSatisfaction, deref(p.HogShareOfFreeCPU), deref(p.TimeToShieldSeconds), p.Ticks)
	}
	checkRealSummary(t, summary, sc)
	phases := map[string]report.PhaseSummary{}
	for _, p := range summary.Phases {
		phases[p.Name] = p
	}
	for _, p := range summary.Phases {
		if p.VictimLatencyP99Ms == nil {
			t.Errorf("%s: no latency measured, though the run's trace receivers could take any free port", p.Name)
		}
		if len(p.BestEffort) != 1 || p.BestEffort[0].Name != sc.Hog || p.BestEffort[0].ShareOfAvailableCPU == nil {
			t.Errorf("%s: best_effort = %+v, want the hog with its share", p.Name, p.BestEffort)
		}
	}
	if shielded, contended := phases["shielded"].VictimCPUSatisfaction, phases["contended"].VictimCPUSatisfaction; shielded <= contended {
		t.Errorf("shielded satisfaction %.3f is not above contended %.3f", shielded, contended)
	}
	for _, name := range []string{TimeseriesFile, PlotFile, EventsFile} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", name, err)
		}
	}
	t.Run("replay", func(t *testing.T) { replayWithoutDifferences(t, filepath.Join(dir, EventsFile)) })
	t.Run("cleaned up", func(t *testing.T) { requireNoContainers(t, node) })
}

// holdStandardTracePort takes the standard OTLP gRPC port on the Docker
// bridge for the test, as an agent on the host would.
func holdStandardTracePort(t *testing.T) {
	t.Helper()
	gateway, err := dockertest.Runtime(t).BridgeGateway(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", netip.AddrPortFrom(gateway, 4317).String())
	if err != nil {
		t.Logf("the standard trace port is taken already: %v", err)
		return
	}
	t.Cleanup(func() { l.Close() })
}

func readSummary(t *testing.T, path string) report.Summary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var summary report.Summary
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return summary
}

func checkRealSummary(t *testing.T, summary report.Summary, sc *scenario.Scenario) {
	t.Helper()
	if summary.Mode != report.ModeReal || summary.Scenario != sc.Name || len(summary.Phases) != len(sc.Phases) {
		t.Fatalf("summary is %s/%s with %d phases, want real/%s with %d", summary.Mode, summary.Scenario,
			len(summary.Phases), sc.Name, len(sc.Phases))
	}
	for i, p := range summary.Phases {
		wantTicks := sc.Phases[i].DurationSeconds / sc.TickSeconds
		switch {
		case p.Name != sc.Phases[i].Name:
			t.Errorf("phase %d is %s, want %s", i, p.Name, sc.Phases[i].Name)
		case float64(p.Ticks) < 0.8*wantTicks || float64(p.Ticks) > wantTicks:
			t.Errorf("%s: %d ticks measured, want close to %.0f", p.Name, p.Ticks, wantTicks)
		case p.VictimCPUSatisfaction <= 0 || p.VictimCPUSatisfaction > 1:
			t.Errorf("%s: satisfaction %g out of (0, 1]", p.Name, p.VictimCPUSatisfaction)
		case p.HogShareOfFreeCPU == nil || p.ShieldReached == nil:
			t.Errorf("%s: the hog ran, but its share or the shield is missing", p.Name)
		}
	}
}

func replayWithoutDifferences(t *testing.T, events string) {
	f, err := os.Open(events)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := state.ReadRecording(f)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Header.Mode != report.ModeReal {
		t.Errorf("recording mode %q, want %q", rec.Header.Mode, report.ModeReal)
	}
	bundle, err := policies.RecordedBundle(rec)
	if err != nil {
		t.Fatal(err)
	}
	result := replay(t, bundle, rec)
	if result.Decisions == 0 {
		t.Fatal("the real recording holds no decisions")
	}
	if len(result.Differing) > 0 {
		t.Fatalf("%d of %d decisions differ on replay; first: %+v", len(result.Differing), result.Decisions, result.Differing[0])
	}
}

func requireNoContainers(t *testing.T, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rt, err := docker.New(ctx, docker.Config{Node: node}, dockertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	left, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Fatalf("%d containers left on node %s: %+v", len(left), node, left)
	}
}

// TestRealRunRemovesItsContainersWhenInterrupted ends a run in the middle
// of a phase and finds nothing left of it.
func TestRealRunRemovesItsContainersWhenInterrupted(t *testing.T) {
	node := realNode(t)
	sc := realScenario(t, 1, "contended")
	ctx, cancel := context.WithTimeout(context.Background(), 7*time.Second)
	defer cancel()
	_, err := RunReal(ctx, RealConfig{
		Config:   Config{Scenario: sc, Bundle: loadBundle(t), Stores: MemoryStores, Logger: dockertest.Logger(t)},
		NodeName: node,
	})
	if err == nil {
		t.Fatal("an interrupted run reported success")
	}
	requireNoContainers(t, node)
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
