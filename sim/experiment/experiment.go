// Package experiment runs a scenario's phases in closed loop on the
// simulated node: every tick the node is observed, the observation is
// written to the store, the policy decides on the store's view, and the
// reconciler applies the decision to the node, all in one goroutine so the
// run is a pure function of the scenario, its seed and the policy bundle.
package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// NodeName is the simulated node every phase runs on.
const NodeName = "sim-node"

// Epoch is the virtual time every phase starts at, fixed so runs compare.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

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
}

// Result is what a run produced.
type Result struct {
	Summary   report.Summary
	Rows      []report.Row
	Recording state.Recording
}

// Run runs every phase of the scenario in order, each on a clean node and
// a clean store.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	engine, err := policies.NewEngine(ctx, cfg.Bundle)
	if err != nil {
		return nil, fmt.Errorf("policy bundle: %w", err)
	}
	sc := *cfg.Scenario
	res := &Result{Recording: state.Recording{Header: recordingHeader(sc, cfg.Bundle)}}
	for i, phase := range sc.Phases {
		rows, segment, err := runPhase(ctx, cfg, engine, i)
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", phase.Name, err)
		}
		res.Rows = append(res.Rows, rows...)
		res.Recording.Segments = append(res.Recording.Segments, segment)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "phase %d/%d %-14s %5.0f s simulated, %d events\n",
				i+1, len(sc.Phases), phase.Name, phase.DurationSeconds, len(segment.Events))
		}
	}
	res.Summary = report.Summarize(sc, res.Rows)
	res.Summary.Mode = report.ModeSim
	return res, nil
}

func recordingHeader(sc scenario.Scenario, bundle *policies.Bundle) state.RecordingHeader {
	files := map[string]string{}
	for name, content := range bundle.Files {
		files[name] = string(content)
	}
	return state.RecordingHeader{Scenario: sc.Name, Mode: string(report.ModeSim), Seed: sc.Seed,
		Policy: files, PolicyDigest: bundle.Digest}
}

// phaseRun is the loop of one phase: its node, store and reconciler.
type phaseRun struct {
	sc      scenario.Scenario
	index   int
	phase   scenario.Phase
	engine  *policies.Engine
	store   state.Store
	node    *sim.Node
	runner  *reconciler.Runner
	tick    time.Duration
	pending []scenario.PhaseApp
}

func runPhase(ctx context.Context, cfg Config, engine *policies.Engine, index int) ([]report.Row, state.Segment, error) {
	sc := *cfg.Scenario
	phase := sc.Phases[index]
	store, closeStore, err := cfg.Stores(phase.Name)
	if err != nil {
		return nil, state.Segment{}, fmt.Errorf("open store: %w", err)
	}
	defer closeStore()
	run, err := newPhaseRun(ctx, cfg, engine, store, index)
	if err != nil {
		return nil, state.Segment{}, err
	}
	ticks := int(math.Round(phase.DurationSeconds / sc.TickSeconds))
	rows := make([]report.Row, 0, ticks)
	for k := range ticks {
		row, err := run.step(ctx, k)
		if err != nil {
			return nil, state.Segment{}, fmt.Errorf("tick %d: %w", k, err)
		}
		rows = append(rows, row)
	}
	segment, err := run.recording(ctx)
	return rows, segment, err
}

func newPhaseRun(ctx context.Context, cfg Config, engine *policies.Engine, store state.Store, index int) (*phaseRun, error) {
	sc := *cfg.Scenario
	seed := uint64(sc.Seed)*1000 + uint64(index)
	node, err := sim.NewNode(sim.NodeConfig{Name: NodeName, CPUs: sc.Node.CPUs, Epoch: Epoch, Seed: seed, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("simulated node: %w", err)
	}
	if err := putJSON(ctx, store, state.Keys.Node(NodeName), node.Info()); err != nil {
		return nil, err
	}
	var seedBytes [32]byte
	seedBytes[0], seedBytes[1] = byte(seed), byte(seed>>8)
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: NodeName, Store: store, Runtime: node, CPU: node, Bandwidth: node,
		Clock: node.Clock(), Random: rand.NewChaCha8(seedBytes), Logger: cfg.Logger,
	})
	return &phaseRun{
		sc: sc, index: index, phase: sc.Phases[index], engine: engine, store: store, node: node, runner: runner,
		tick:    time.Duration(sc.TickSeconds * float64(time.Second)),
		pending: sc.PhaseApps(index),
	}, nil
}

// step is one tick: start the apps whose time has come, converge, let the
// node run for the tick, observe, decide and apply.
func (p *phaseRun) step(ctx context.Context, k int) (report.Row, error) {
	if err := p.startDue(ctx, float64(k)*p.sc.TickSeconds); err != nil {
		return report.Row{}, err
	}
	if err := p.reconcile(ctx); err != nil {
		return report.Row{}, err
	}
	obs := p.node.Tick(p.tick)
	if err := putJSON(ctx, p.store, state.Keys.Observation(NodeName), obs); err != nil {
		return report.Row{}, err
	}
	if p.phase.Control == scenario.ControlPolicy {
		if err := p.decide(ctx); err != nil {
			return report.Row{}, err
		}
		if err := p.reconcile(ctx); err != nil {
			return report.Row{}, err
		}
	}
	return p.row(float64(k+1) * p.sc.TickSeconds), nil
}

func (p *phaseRun) startDue(ctx context.Context, now float64) error {
	for len(p.pending) > 0 && p.pending[0].StartSeconds <= now+1e-9 {
		app := p.pending[0]
		p.pending = p.pending[1:]
		if err := putJSON(ctx, p.store, state.Keys.App(app.Spec.Name), app.Spec); err != nil {
			return err
		}
	}
	return nil
}

func (p *phaseRun) reconcile(ctx context.Context) error {
	if err := p.runner.Sync(ctx); err != nil {
		return err
	}
	return p.runner.ReconcileOnce(ctx)
}

// decide runs the policy on the store's view and records the decision, or
// the policy error that leaves the last good decision in force.
func (p *phaseRun) decide(ctx context.Context) error {
	view, err := state.LoadView(ctx, p.store)
	if err != nil {
		return err
	}
	op, ok, err := policies.Step(ctx, p.engine, &view, NodeName)
	if err != nil || !ok {
		return err
	}
	_, err = p.store.Txn(ctx, op)
	return err
}

// row turns the node's truth about the tick into a report row.
func (p *phaseRun) row(seconds float64) report.Row {
	row := report.Row{
		Phase: p.phase.Name, Control: p.phase.Control, Seconds: seconds, IntervalSeconds: p.sc.TickSeconds,
		SharedCapacityCores: float64(len(p.sc.SharedCPUs())),
	}
	for _, c := range p.node.LastTick() {
		switch c.ID {
		case p.sc.Victim:
			victimInto(&row, c, p.sc.TickSeconds)
		case p.sc.Hog:
			row.HogUsageCores = c.Usage
			row.HogQuotaCores = c.QuotaCores
		}
	}
	return row
}

func victimInto(row *report.Row, c sim.ContainerTick, dt float64) {
	row.VictimDemandCores = c.Demand
	row.VictimUsageCores = c.Usage
	row.VictimWaitCores = c.Wait
	if w := c.Work; w != nil {
		row.VictimServedCores = w.Served / dt
		row.VictimBacklogEndCPUSeconds = w.Backlog
		row.VictimBacklogStartCPUSeconds = w.Backlog - w.Arrived + w.Served
	}
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
