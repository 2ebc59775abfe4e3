package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sluice-io/sluice/sim/report"
)

// Tolerances within which the simulator counts as predicting the real node,
// per phase: absolute differences, and a factor for the victim's p99.
const (
	SatisfactionTolerance = 0.03
	HogShareTolerance     = 0.08
	SLOTolerance          = 0.08
	P99Factor             = 2.0
)

// Figures compared per phase, in the order the ranking reads them.
const (
	FigureSatisfaction = "victim_satisfaction"
	FigureP99          = "victim_p99_ms"
	FigureHogShare     = "hog_share"
	FigureSLO          = "slo_violations"
)

// Comparison is a simulated run set beside a real run of the same scenario.
type Comparison struct {
	Scenario string            `json:"scenario"`
	Phases   []PhaseComparison `json:"phases"`
	// Within is true when every figure of every phase is within tolerance.
	Within bool `json:"within_tolerance"`
	// SimRanking and RealRanking list the phases best first: by victim
	// satisfaction, then p99, then hog share, each figure deciding only
	// where the two phases differ by more than its tolerance.
	SimRanking  []string `json:"sim_ranking"`
	RealRanking []string `json:"real_ranking"`
	// SameRanking is true when no pair of phases is ordered one way by the
	// simulator and the other way by the real run; Disagreements lists the
	// pairs that are, each as the real run orders it.
	SameRanking   bool        `json:"same_ranking"`
	Disagreements [][2]string `json:"disagreements"`
}

// PhaseComparison is one phase's figures.
type PhaseComparison struct {
	Name    string             `json:"name"`
	Figures []FigureComparison `json:"figures"`
}

// FigureComparison is one figure of a phase in both runs. Sim or Real is
// nil where a run has no value (no hog in the phase, no SLO); a figure one
// run has and the other lacks is out of tolerance.
type FigureComparison struct {
	Figure string   `json:"figure"`
	Sim    *float64 `json:"sim"`
	Real   *float64 `json:"real"`
	// Delta is sim − real; for the p99, sim ÷ real.
	Delta  *float64 `json:"delta"`
	Within bool     `json:"within_tolerance"`
}

// ReadSummary reads a run's summary.json from its output directory.
func ReadSummary(dir string) (report.Summary, error) {
	path := filepath.Join(dir, SummaryFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return report.Summary{}, fmt.Errorf("read run summary: %w", err)
	}
	var s report.Summary
	if err := json.Unmarshal(raw, &s); err != nil {
		return report.Summary{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Compare sets a simulated summary beside a real one. Phases are matched
// by name; the two must be runs of the same scenario with the same phases.
func Compare(sim, real report.Summary) (Comparison, error) {
	if sim.Scenario != real.Scenario {
		return Comparison{}, fmt.Errorf("the runs are of different scenarios: %q and %q", sim.Scenario, real.Scenario)
	}
	if len(sim.Phases) != len(real.Phases) {
		return Comparison{}, fmt.Errorf("%d phases in the simulated run, %d in the real one", len(sim.Phases), len(real.Phases))
	}
	c := Comparison{Scenario: sim.Scenario, Within: true, Disagreements: [][2]string{}}
	for i, sp := range sim.Phases {
		rp := real.Phases[i]
		if sp.Name != rp.Name {
			return Comparison{}, fmt.Errorf("phase %d is %q in the simulated run, %q in the real one", i+1, sp.Name, rp.Name)
		}
		pc := comparePhase(sp, rp)
		for _, f := range pc.Figures {
			c.Within = c.Within && f.Within
		}
		c.Phases = append(c.Phases, pc)
	}
	c.SimRanking, c.RealRanking = Rank(sim.Phases), Rank(real.Phases)
	c.Disagreements = rankDisagreements(sim.Phases, real.Phases)
	c.SameRanking = len(c.Disagreements) == 0
	return c, nil
}

func comparePhase(sim, real report.PhaseSummary) PhaseComparison {
	sat := func(p report.PhaseSummary) *float64 { return &p.VictimCPUSatisfaction }
	figures := []FigureComparison{
		difference(FigureSatisfaction, sat(sim), sat(real), SatisfactionTolerance),
		difference(FigureHogShare, sim.HogShareOfFreeCPU, real.HogShareOfFreeCPU, HogShareTolerance),
		difference(FigureSLO, sim.SLOViolationRatio, real.SLOViolationRatio, SLOTolerance),
		ratio(FigureP99, sim.VictimLatencyP99Ms, real.VictimLatencyP99Ms, P99Factor),
	}
	out := PhaseComparison{Name: sim.Name}
	for _, f := range figures {
		if f.Sim != nil || f.Real != nil {
			out.Figures = append(out.Figures, f)
		}
	}
	return out
}

func difference(name string, sim, real *float64, tolerance float64) FigureComparison {
	f := FigureComparison{Figure: name, Sim: sim, Real: real}
	if sim != nil && real != nil {
		d := round6(*sim - *real)
		f.Delta, f.Within = &d, math.Abs(d) <= tolerance+1e-9
	}
	return f
}

func ratio(name string, sim, real *float64, factor float64) FigureComparison {
	f := FigureComparison{Figure: name, Sim: sim, Real: real}
	if sim != nil && real != nil && *sim > 0 && *real > 0 {
		r := round6(*sim / *real)
		f.Delta, f.Within = &r, r <= factor && r >= 1/factor
	}
	return f
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// better reports whether phase a ranks before phase b (+1), after it (−1)
// or neither (0): higher victim satisfaction first, then lower p99, then
// higher hog share, each figure deciding only where the two differ by more
// than its tolerance.
func better(a, b report.PhaseSummary) int {
	if d := a.VictimCPUSatisfaction - b.VictimCPUSatisfaction; math.Abs(d) > SatisfactionTolerance {
		return sign(d)
	}
	if pa, pb := a.VictimLatencyP99Ms, b.VictimLatencyP99Ms; pa != nil && pb != nil && *pa > 0 && *pb > 0 {
		if r := *pb / *pa; r > P99Factor || r < 1/P99Factor {
			return sign(r - 1)
		}
	}
	ha, hb := valueOr(a.HogShareOfFreeCPU), valueOr(b.HogShareOfFreeCPU)
	if d := ha - hb; math.Abs(d) > HogShareTolerance {
		return sign(d)
	}
	return 0
}

func sign(v float64) int {
	if v > 0 {
		return 1
	}
	return -1
}

func valueOr(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// Rank orders the phases best first (see better), keeping the scenario's
// order between phases that neither ranks before the other.
func Rank(phases []report.PhaseSummary) []string {
	order := make([]int, len(phases))
	for i := range order {
		order[i] = i
	}
	// Insertion sort: stable, and it needs no transitive order, which
	// comparisons with tolerances do not give.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && better(phases[order[j]], phases[order[j-1]]) > 0; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	names := make([]string, len(order))
	for i, k := range order {
		names[i] = phases[k].Name
	}
	return names
}

// rankDisagreements lists the pairs of phases that the two runs order in
// opposite ways, each as [the phase the real run ranks first, the other].
func rankDisagreements(sim, real []report.PhaseSummary) [][2]string {
	out := [][2]string{}
	for i := range real {
		for j := i + 1; j < len(real); j++ {
			s, r := better(sim[i], sim[j]), better(real[i], real[j])
			if s*r >= 0 {
				continue
			}
			if r > 0 {
				out = append(out, [2]string{real[i].Name, real[j].Name})
			} else {
				out = append(out, [2]string{real[j].Name, real[i].Name})
			}
		}
	}
	return out
}
