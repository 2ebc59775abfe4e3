// Package experiment runs a scenario's phases in closed loop, on the
// simulated node (Run) or on this host's Docker engine and cgroups
// (RunReal). Both run the node agent's own loop (agent.Agent.Step): every
// tick the node is observed, the observation is written to the store, the
// policy decides on the store's view, and the reconciler applies the
// decision to the node. In the simulator it all runs in one goroutine, so
// the run is a pure function of the scenario, its seed and the policy
// bundle.
package experiment

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// StoreFactory opens a fresh, empty store for one phase and returns the
// function that closes it.
type StoreFactory func(phase string) (state.Store, func() error, error)

// MemoryStores gives every phase its own in-memory store.
func MemoryStores(string) (state.Store, func() error, error) {
	store := state.NewMemoryStore()
	return store, store.Close, nil
}

// Config is one closed-loop run.
type Config struct {
	Scenario *scenario.Scenario
	// Bundle is the policy of the policy phases.
	Bundle *policies.Bundle
	Stores StoreFactory
	Logger *slog.Logger
	// Progress gets one line per finished phase; nil for none.
	Progress io.Writer
	// Live says Progress is a terminal: within each phase a line is
	// rewritten in place every second of the phase with the time done,
	// so that a real run's long phases show that they advance.
	Live bool
}

// Result is what a run produced.
type Result struct {
	Summary   report.Summary
	Rows      []report.Row
	Recording state.Recording
}

// phaseNode is what one phase runs on: a fresh simulated node, or the real
// node cleaned of the previous phase's containers.
type phaseNode interface {
	// Node is the agent's node.
	Node() agent.Node
	// RunnerBase is the reconciler's randomness and pacing for the phase.
	RunnerBase() reconciler.RunnerConfig
	// StoreID is the identity of the phase's store that the node labels
	// its containers with (agent.Config.StoreID); empty for a node that
	// labels none.
	StoreID() string
	// Pace waits until tick k is due.
	Pace(ctx context.Context, k int) error
	// Measure turns the tick into the report's measurements. ok is false
	// when the tick could not be measured on its own and is folded into
	// the next one.
	Measure(obs state.Observation) (m tickMeasure, ok bool, err error)
	// Close ends the phase: whatever it started is gone afterwards.
	Close(ctx context.Context) error
}

// tickMeasure is one tick as a node measured it: the victim's work queue
// and CPU, the hog's CPU and quota.
type tickMeasure struct {
	Seconds, IntervalSeconds float64
	Victim, Hog              containerMeasure
	// BestEffort is every best-effort container that ran (bestEffortCPU).
	BestEffort []report.ContainerCPU
}

type containerMeasure struct {
	DemandCores, UsageCores, WaitCores float64
	Work                               *state.WorkReport
	Latency                            *state.LatencyStats
	QuotaCores                         *float64
}

// mode is what differs between the simulator and the real node around the
// shared loop.
type mode struct {
	name string
	// node opens the node of phase index, whose agent runs on store.
	node func(ctx context.Context, index int, store state.Store) (phaseNode, error)
	// progress describes a finished phase after its name.
	progress func(phase scenario.Phase, events int) string
	// absenceLimit is how long a container the phase runs may be missing
	// from the node's observations (not yet started, or died) before the
	// phase fails: figures of a phase whose workload is not there would
	// describe another experiment.
	absenceLimit time.Duration
}

// runLoop runs every phase of the scenario in order, each on a clean node
// and a clean store.
func runLoop(ctx context.Context, cfg Config, m mode) (*Result, error) {
	if _, err := policies.NewEngine(ctx, cfg.Bundle); err != nil {
		return nil, fmt.Errorf("policy bundle: %w", err)
	}
	sc := *cfg.Scenario
	res := &Result{Recording: state.Recording{Header: recordingHeader(sc, cfg.Bundle, m.name)}}
	for i, phase := range sc.Phases {
		rows, segment, err := runPhase(ctx, cfg, m, i)
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", phase.Name, err)
		}
		res.Rows = append(res.Rows, rows...)
		res.Recording.Segments = append(res.Recording.Segments, segment)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "%sphase %d/%d %-14s %s\n", cfg.clearLine(), i+1, len(sc.Phases), phase.Name, m.progress(phase, len(segment.Events)))
		}
	}
	res.Summary = report.Summarize(sc, res.Rows)
	res.Summary.Mode = m.name
	return res, nil
}

func recordingHeader(sc scenario.Scenario, bundle *policies.Bundle, mode string) state.RecordingHeader {
	files := map[string]string{}
	for name, content := range bundle.Files {
		files[name] = string(content)
	}
	return state.RecordingHeader{Scenario: sc.Name, Mode: mode, Seed: sc.Seed,
		Policy: files, PolicyDigest: bundle.Digest}
}

// clearLine is what erases the live line before a finished phase's line.
func (cfg Config) clearLine() string {
	if cfg.Live {
		return "\r\033[K"
	}
	return ""
}

// showTick rewrites the live line after tick done of ticks, once per
// second of the phase and at its end.
func (cfg Config) showTick(index, done, ticks int) {
	if !cfg.Live || cfg.Progress == nil {
		return
	}
	sc := cfg.Scenario
	perSecond := max(1, int(math.Round(1/sc.TickSeconds)))
	if done%perSecond != 0 && done != ticks {
		return
	}
	phase := sc.Phases[index]
	fmt.Fprintf(cfg.Progress, "\r\033[Kphase %d/%d %-14s %.0f/%.0f s", index+1, len(sc.Phases), phase.Name,
		float64(done)*sc.TickSeconds, float64(ticks)*sc.TickSeconds)
}

// phaseRun is the loop of one phase: its node, store and agent.
type phaseRun struct {
	sc    scenario.Scenario
	phase scenario.Phase
	store state.Store
	node  phaseNode
	agent *agent.Agent
	// apps are the phase's apps; starts and stops those yet to start, by
	// start time, and yet to stop, by stop time.
	apps, starts, stops []scenario.PhaseApp
	// missing has, for each container the phase runs that the node did
	// not observe at the last tick, when it was first missed.
	missing      map[string]float64
	absenceLimit float64
}

func runPhase(ctx context.Context, cfg Config, m mode, index int) (rows []report.Row, segment state.Segment, err error) {
	sc := *cfg.Scenario
	phase := sc.Phases[index]
	store, closeStore, err := cfg.Stores(phase.Name)
	if err != nil {
		return nil, state.Segment{}, fmt.Errorf("open store: %w", err)
	}
	defer closeStore()
	node, err := m.node(ctx, index, store)
	if err != nil {
		return nil, state.Segment{}, err
	}
	// The node is cleaned up even when the phase fails or is interrupted.
	defer func() { err = errors.Join(err, node.Close(ctx)) }()
	run, err := newPhaseRun(ctx, cfg, store, node, index, m.absenceLimit)
	if err != nil {
		return nil, state.Segment{}, err
	}
	ticks := int(math.Round(phase.DurationSeconds / sc.TickSeconds))
	rows = make([]report.Row, 0, ticks)
	for k := range ticks {
		row, ok, err := run.step(ctx, k)
		if err != nil {
			return nil, state.Segment{}, fmt.Errorf("tick %d: %w", k, err)
		}
		if ok {
			rows = append(rows, row)
		}
		cfg.showTick(index, k+1, ticks)
	}
	segment, err = run.recording(ctx)
	return rows, segment, err
}

func newPhaseRun(ctx context.Context, cfg Config, store state.Store, node phaseNode, index int, absenceLimit time.Duration) (*phaseRun, error) {
	sc := *cfg.Scenario
	phase := sc.Phases[index]
	info := node.Node().Info()
	opts := []agent.Option{agent.WithPolicyBundle(cfg.Bundle), agent.WithRunnerConfig(node.RunnerBase())}
	if phase.Control != scenario.ControlPolicy {
		opts = append(opts, agent.WithoutPolicy())
	}
	a, err := agent.New(ctx, store, node.Node(), agent.Config{
		Node: info.Name, Interval: time.Duration(sc.TickSeconds * float64(time.Second)), StoreID: node.StoreID(),
		Logger: cfg.Logger,
	}, opts...)
	if err != nil {
		return nil, err
	}
	if err := a.Register(ctx); err != nil {
		return nil, err
	}
	apps := sc.PhaseApps(index)
	var stops []scenario.PhaseApp
	for _, app := range apps {
		if app.StopSeconds != nil {
			stops = append(stops, app)
		}
	}
	slices.SortStableFunc(stops, func(a, b scenario.PhaseApp) int { return cmp.Compare(*a.StopSeconds, *b.StopSeconds) })
	return &phaseRun{sc: sc, phase: phase, store: store, node: node, agent: a, apps: apps, starts: apps, stops: stops,
		missing: map[string]float64{}, absenceLimit: absenceLimit.Seconds()}, nil
}

// step is one tick: start and stop the apps whose time has come,
// converge, let the node run for the tick, and the agent's step: observe,
// record, decide (in a policy phase) and apply.
func (p *phaseRun) step(ctx context.Context, k int) (report.Row, bool, error) {
	if err := p.startAndStopDue(ctx, float64(k)*p.sc.TickSeconds); err != nil {
		return report.Row{}, false, err
	}
	if err := p.agent.Reconcile(ctx); err != nil {
		return report.Row{}, false, err
	}
	if err := p.node.Pace(ctx, k); err != nil {
		return report.Row{}, false, err
	}
	result, err := p.agent.Step(ctx)
	if err != nil {
		return report.Row{}, false, err
	}
	if err := p.checkRunning(ctx, result.Observation, float64(k+1)*p.sc.TickSeconds); err != nil {
		return report.Row{}, false, err
	}
	measured, ok, err := p.node.Measure(result.Observation)
	if err != nil || !ok {
		return report.Row{}, false, err
	}
	return p.row(measured), true, nil
}

// startAndStopDue puts the spec of every app whose start has come and
// deletes that of every app whose stop has come, as an operator would.
func (p *phaseRun) startAndStopDue(ctx context.Context, now float64) error {
	due := func(at float64) bool { return at <= now+1e-9 }
	for len(p.starts) > 0 && due(p.starts[0].StartSeconds) {
		app := p.starts[0]
		p.starts = p.starts[1:]
		if err := putJSON(ctx, p.store, state.Keys.App(app.Spec.Node, app.Spec.Name), app.Spec); err != nil {
			return err
		}
	}
	for len(p.stops) > 0 && due(*p.stops[0].StopSeconds) {
		key := state.Keys.App(p.stops[0].Spec.Node, p.stops[0].Spec.Name)
		p.stops = p.stops[1:]
		if _, err := p.store.Txn(ctx, state.Delete(key)); err != nil {
			return fmt.Errorf("delete %s: %w", key, err)
		}
	}
	return nil
}

// checkRunning fails the phase when a container it runs has been missing
// from the node's observations for longer than the absence limit, at now
// seconds into the phase: it never started, or it died and did not come
// back. The error carries the app's status, which says why.
func (p *phaseRun) checkRunning(ctx context.Context, obs state.Observation, now float64) error {
	observed := map[string]bool{}
	for _, c := range obs.Containers {
		observed[c.ID] = true
	}
	for _, app := range p.apps {
		if app.StartSeconds > now || (app.StopSeconds != nil && *app.StopSeconds <= now) {
			continue
		}
		for _, c := range app.Spec.Containers {
			id := state.ContainerID(app.Spec.Name, c.Name)
			since, wasMissing := p.missing[id]
			switch {
			case observed[id]:
				delete(p.missing, id)
			case !wasMissing:
				p.missing[id] = max(app.StartSeconds, now-p.sc.TickSeconds)
			case now-since > p.absenceLimit:
				return fmt.Errorf("container %s has not been running for %.1f s of the phase; its app's status: %s",
					id, now-since, p.appStatus(ctx, app.Spec))
			}
		}
	}
	return nil
}

// appStatus describes the stored status of an app, for an error.
func (p *phaseRun) appStatus(ctx context.Context, spec state.AppSpec) string {
	kv, found, _, err := p.store.Get(ctx, state.Keys.Status(p.node.Node().Info().Name, spec.Name))
	switch {
	case err != nil:
		return "unreadable: " + err.Error()
	case !found:
		return "none written"
	}
	var status state.AppStatus
	if err := json.Unmarshal(kv.Value, &status); err != nil {
		return "undecodable: " + err.Error()
	}
	if status.Error != "" {
		return fmt.Sprintf("%s (%s)", status.Phase, status.Error)
	}
	return string(status.Phase)
}

// row turns the node's measurements of a tick into a report row.
func (p *phaseRun) row(m tickMeasure) report.Row {
	row := report.Row{
		Phase: p.phase.Name, Control: p.phase.Control, Seconds: m.Seconds, IntervalSeconds: m.IntervalSeconds,
		SharedCapacityCores: float64(len(p.sc.SharedCPUs())),
		VictimDemandCores:   m.Victim.DemandCores,
		VictimUsageCores:    m.Victim.UsageCores,
		VictimWaitCores:     m.Victim.WaitCores,
		VictimQuotaCores:    m.Victim.QuotaCores,
		HogUsageCores:       m.Hog.UsageCores,
		HogQuotaCores:       m.Hog.QuotaCores,
		BestEffort:          m.BestEffort,
	}
	if w := m.Victim.Work; w != nil {
		row.VictimServedCores = w.Served / m.IntervalSeconds
		row.VictimBacklogEndCPUSeconds = w.Backlog
		row.VictimBacklogStartCPUSeconds = w.Backlog - w.Arrived + w.Served
	}
	row.SetVictimLatency(m.Victim.Latency, p.sc.VictimSLO())
	return row
}

// recording reads the phase's whole log back from the store.
func (p *phaseRun) recording(ctx context.Context) (state.Segment, error) {
	_, _, rev, err := p.store.Get(ctx, state.Root)
	if err != nil {
		return state.Segment{}, err
	}
	events, err := state.ReadLog(ctx, p.store, state.Root, 1, rev)
	if err != nil {
		return state.Segment{}, err
	}
	return state.Segment{Name: p.phase.Name, Events: events}, nil
}

func putJSON(ctx context.Context, store state.Store, key string, value any) error {
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, err := store.Txn(ctx, state.Put(key, data)); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
