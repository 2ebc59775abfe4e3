package experiment

import (
	"context"
	"fmt"
	"log/slog"
	"math"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
)

// CalibrateConfig is a fit of the timed CPU model to a real run.
type CalibrateConfig struct {
	// Scenario is the scenario the real run ran.
	Scenario *scenario.Scenario
	Bundle   *policies.Bundle
	// RealDir holds the real run's timeseries.csv.
	RealDir string
	// Base is the profile the fit starts from: its other fields are kept.
	Base   cfs.Profile
	Logger *slog.Logger
}

// Fit is the calibrated profile and how well it matches.
type Fit struct {
	Profile cfs.Profile
	// Cost is the sum of squared differences, each over its tolerance,
	// of the fitted phases' figures (see fitCost); 0 is a perfect match.
	Cost float64
	// Phases are the phases fitted: the victim alone and contended.
	Phases []string
	Tried  int
}

// The grid the fit searches. Every point runs the fitted phases once; the
// first point with the lowest cost wins, so the fit is deterministic.
var (
	fitWakeupLatencyMs = []float64{0.05, 0.25, 0.5}
	fitVictimOverhead  = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3}
	fitNoiseCores      = []float64{0, 0.01, 0.03, 0.06}
	fitNoiseBurstMs    = []float64{1, 5}
)

// Calibrate fits the timed model's free parameters (scheduling latency,
// background load, the victim's overhead) to a real run by grid search:
// the scenario's uncontrolled phases, the victim alone and against the
// hog, are simulated at each point and compared with what the real run
// measured in them.
func Calibrate(ctx context.Context, cfg CalibrateConfig) (Fit, error) {
	sub, err := uncontrolledPhases(*cfg.Scenario)
	if err != nil {
		return Fit{}, err
	}
	rows, err := ReadTimeseries(cfg.RealDir)
	if err != nil {
		return Fit{}, err
	}
	real := report.Summarize(sub, rows)
	for _, p := range real.Phases {
		if p.Ticks == 0 {
			return Fit{}, fmt.Errorf("%s: no ticks of phase %s: is it a run of %s?", cfg.RealDir, p.Name, sub.Name)
		}
	}
	best := Fit{Cost: math.Inf(1)}
	for _, p := range fitGrid(cfg.Base) {
		res, err := runSim(ctx, Config{Scenario: &sub, Bundle: cfg.Bundle, Stores: MemoryStores, Logger: cfg.Logger}, &p)
		if err != nil {
			return Fit{}, err
		}
		best.Tried++
		if cost := fitCost(res.Summary, real); cost < best.Cost {
			best.Profile, best.Cost = p, cost
		}
	}
	for _, p := range sub.Phases {
		best.Phases = append(best.Phases, p.Name)
	}
	best.Profile.Source = cfg.RealDir
	return best, nil
}

// uncontrolledPhases keeps the scenario's first phase without control in
// which the hog does not run, and the first in which it does.
func uncontrolledPhases(sc scenario.Scenario) (scenario.Scenario, error) {
	var alone, contended *scenario.Phase
	for i := range sc.Phases {
		p := &sc.Phases[i]
		if p.Control != scenario.ControlNone {
			continue
		}
		if _, hog := p.HogStart(sc); hog && contended == nil {
			contended = p
		} else if !hog && alone == nil {
			alone = p
		}
	}
	if alone == nil || contended == nil {
		return scenario.Scenario{}, fmt.Errorf("scenario %s: calibration needs a phase with control none and no hog, and one with the hog", sc.Name)
	}
	sc.Phases = []scenario.Phase{*alone, *contended}
	return sc, nil
}

func fitGrid(base cfs.Profile) []cfs.Profile {
	var grid []cfs.Profile
	for _, wake := range fitWakeupLatencyMs {
		for _, overhead := range fitVictimOverhead {
			for _, noise := range fitNoiseCores {
				for _, burst := range fitNoiseBurstMs {
					p := base
					p.WakeupLatencyMs, p.VictimOverhead, p.NoiseCores, p.NoiseBurstMs = wake, overhead, noise, burst
					grid = append(grid, p.WithDefaults())
				}
			}
		}
	}
	return grid
}

// fitCost adds up, over the phases, the squared differences of victim
// satisfaction and hog share (over their tolerances) and of the log of the
// victim's p50 and p99 (over log 2, their factor).
func fitCost(sim, real report.Summary) float64 {
	cost := 0.0
	for i, s := range sim.Phases {
		r := real.Phases[i]
		cost += square((s.VictimCPUSatisfaction - r.VictimCPUSatisfaction) / SatisfactionTolerance)
		if s.HogShareOfFreeCPU != nil && r.HogShareOfFreeCPU != nil {
			cost += square((*s.HogShareOfFreeCPU - *r.HogShareOfFreeCPU) / HogShareTolerance)
		}
		cost += logRatioCost(s.VictimLatencyP50Ms, r.VictimLatencyP50Ms)
		cost += logRatioCost(s.VictimLatencyP99Ms, r.VictimLatencyP99Ms)
	}
	return cost
}

func logRatioCost(sim, real *float64) float64 {
	if sim == nil || real == nil || *sim <= 0 || *real <= 0 {
		return 0
	}
	return square(math.Log(*sim/(*real)) / math.Log(P99Factor))
}

func square(v float64) float64 { return v * v }
