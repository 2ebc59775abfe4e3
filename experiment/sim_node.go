package experiment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// NodeName is the simulated node every phase runs on.
const NodeName = "sim-node"

// Epoch is the virtual time every phase starts at, fixed so runs compare.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run runs every phase of the scenario in order on a fresh simulated node
// and a clean store: on the timed CPU model with the scenario's node
// profile when it names one, on the fluid model otherwise.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	profile, err := ScenarioProfile(*cfg.Scenario)
	if err != nil {
		return nil, err
	}
	return runSim(ctx, cfg, profile)
}

// ScenarioProfile loads the node profile the scenario names; nil when it
// names none.
func ScenarioProfile(sc scenario.Scenario) (*cfs.Profile, error) {
	path := sc.ProfilePath()
	if path == "" {
		return nil, nil
	}
	p, err := cfs.LoadProfile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	return &p, nil
}

// runSim is Run with the profile given (nil: the fluid model).
func runSim(ctx context.Context, cfg Config, profile *cfs.Profile) (*Result, error) {
	return runLoop(ctx, cfg, mode{
		// The simulator starts a container within the tick it is asked to.
		absenceLimit: time.Second,
		name:         report.ModeSim,
		node: func(_ context.Context, index int, _ state.Store) (phaseNode, error) {
			return newSimPhaseNode(cfg, index, profile)
		},
		progress: func(phase scenario.Phase, events int) string {
			return fmt.Sprintf("%5.0f s simulated, %d events", phase.DurationSeconds, events)
		},
	})
}

// simPhaseNode is a phase's simulated node, seeded from the scenario's seed
// and the phase's index.
type simPhaseNode struct {
	sc   scenario.Scenario
	node *agent.SimNode
	seed uint64
	k    int
}

func newSimPhaseNode(cfg Config, index int, profile *cfs.Profile) (*simPhaseNode, error) {
	sc := *cfg.Scenario
	seed := uint64(sc.Seed)*1000 + uint64(index)
	node, err := sim.NewNode(sim.NodeConfig{Name: NodeName, CPUs: sc.Node.CPUs, Epoch: Epoch, Seed: seed, Profile: profile, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("simulated node: %w", err)
	}
	tick := time.Duration(sc.TickSeconds * float64(time.Second))
	return &simPhaseNode{sc: sc, node: agent.NewSimNode(node, tick), seed: seed}, nil
}

func (s *simPhaseNode) Node() agent.Node { return s.node }

func (s *simPhaseNode) RunnerBase() reconciler.RunnerConfig {
	var seedBytes [32]byte
	seedBytes[0], seedBytes[1] = byte(s.seed), byte(s.seed>>8)
	return reconciler.RunnerConfig{Random: rand.NewChaCha8(seedBytes)}
}

// Pace has nothing to wait for: the model's time moves with each tick.
// StoreID is empty: the simulated node starts empty every phase and labels
// nothing, so every container on it is the phase's.
func (s *simPhaseNode) StoreID() string { return "" }

func (s *simPhaseNode) Pace(_ context.Context, k int) error {
	s.k = k
	return nil
}

// Measure reads the model's truth about the tick, which every tick has.
func (s *simPhaseNode) Measure(state.Observation) (tickMeasure, bool, error) {
	m := tickMeasure{Seconds: float64(s.k+1) * s.sc.TickSeconds, IntervalSeconds: s.sc.TickSeconds}
	usage := map[string]float64{}
	for _, c := range s.node.Sim().LastTick() {
		usage[c.ID] = c.Usage
		switch c.ID {
		case s.sc.Victim:
			m.Victim = containerMeasure{
				DemandCores: c.Demand, UsageCores: c.Usage, WaitCores: c.Wait,
				Work: c.Work, Latency: c.Latency, QuotaCores: c.QuotaCores,
			}
		case s.sc.Hog:
			m.Hog = containerMeasure{UsageCores: c.Usage, QuotaCores: c.QuotaCores}
		}
	}
	m.BestEffort = bestEffortCPU(s.sc, usage)
	return m, true, nil
}

// Close drops the node: the next phase gets a fresh one.
func (s *simPhaseNode) Close(context.Context) error { return nil }
