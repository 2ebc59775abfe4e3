package experiment

import (
	"slices"
	"testing"

	"github.com/sluice-io/sluice/sim/report"
)

func ptr(v float64) *float64 { return &v }

func phase(name string, sat float64, hog, slo, p99 *float64) report.PhaseSummary {
	return report.PhaseSummary{Name: name, VictimCPUSatisfaction: sat, HogShareOfFreeCPU: hog, SLOViolationRatio: slo, VictimLatencyP99Ms: p99}
}

func TestCompareMarksFiguresOutOfTolerance(t *testing.T) {
	sim := report.Summary{Scenario: "s", Phases: []report.PhaseSummary{
		phase("alone", 1.0, nil, ptr(0), ptr(1.1)),
		phase("shielded", 0.99, ptr(0.95), ptr(0.02), ptr(50)),
	}}
	real := report.Summary{Scenario: "s", Phases: []report.PhaseSummary{
		phase("alone", 0.98, nil, ptr(0), ptr(6.6)),
		phase("shielded", 0.95, ptr(0.99), ptr(0.12), ptr(30)),
	}}
	c, err := Compare(sim, real)
	if err != nil {
		t.Fatal(err)
	}
	within := map[string]bool{}
	for _, p := range c.Phases {
		for _, f := range p.Figures {
			within[p.Name+"/"+f.Figure] = f.Within
		}
	}
	want := map[string]bool{
		"alone/victim_satisfaction": true, "alone/slo_violations": true, "alone/victim_p99_ms": false,
		"shielded/victim_satisfaction": false, "shielded/hog_share": true, "shielded/slo_violations": false, "shielded/victim_p99_ms": true,
	}
	for k, w := range want {
		if got, ok := within[k]; !ok || got != w {
			t.Errorf("%s: within %v (present %v), want %v", k, got, ok, w)
		}
	}
	if _, ok := within["alone/hog_share"]; ok {
		t.Error("alone has no hog in either run; the figure should be left out")
	}
	if c.Within {
		t.Error("the comparison is within tolerance, want not")
	}
}

func TestCompareRefusesDifferentRuns(t *testing.T) {
	a := report.Summary{Scenario: "a", Phases: []report.PhaseSummary{phase("alone", 1, nil, nil, nil)}}
	b := report.Summary{Scenario: "b", Phases: []report.PhaseSummary{phase("alone", 1, nil, nil, nil)}}
	if _, err := Compare(a, b); err == nil {
		t.Error("different scenarios compared, want an error")
	}
	b.Scenario, b.Phases[0].Name = "a", "contended"
	if _, err := Compare(a, b); err == nil {
		t.Error("different phases compared, want an error")
	}
}

func TestRankBySatisfactionThenLatencyThenHogShare(t *testing.T) {
	phases := []report.PhaseSummary{
		phase("contended", 0.40, ptr(1), nil, ptr(4000)),
		phase("split", 0.97, ptr(0.40), nil, ptr(80)),
		phase("shares", 0.99, ptr(0.99), nil, ptr(6)),
		phase("shielded", 0.99, ptr(0.99), nil, ptr(30)),
		phase("alone", 1.00, nil, nil, ptr(6.5)),
	}
	// alone and shares tie on satisfaction and p99; shares has the hog
	// share. split ties with shielded on satisfaction, loses on p99.
	want := []string{"shares", "alone", "shielded", "split", "contended"}
	if got := Rank(phases); !slices.Equal(got, want) {
		t.Errorf("ranking %v, want %v", got, want)
	}
}

func TestRankDisagreementsNameThePairs(t *testing.T) {
	sim := []report.PhaseSummary{
		phase("shielded", 0.99, ptr(0.99), nil, ptr(2.6)),
		phase("shares", 0.99, ptr(0.99), nil, ptr(2.6)),
		phase("split", 0.99, ptr(0.38), nil, ptr(16)),
	}
	real := []report.PhaseSummary{
		phase("shielded", 0.99, ptr(0.99), nil, ptr(30)),
		phase("shares", 0.99, ptr(0.99), nil, ptr(6)),
		phase("split", 0.96, ptr(0.40), nil, ptr(86)),
	}
	// The simulator ties shielded and shares, which the real run orders:
	// no contradiction. It ranks split below both, as the real run does.
	if got := rankDisagreements(sim, real); len(got) != 0 {
		t.Errorf("disagreements %v, want none", got)
	}
	sim[0].VictimLatencyP99Ms = ptr(1)
	sim[1].VictimLatencyP99Ms = ptr(20)
	got := rankDisagreements(sim, real)
	if want := [][2]string{{"shares", "shielded"}}; !slices.Equal(got, want) {
		t.Errorf("disagreements %v, want %v", got, want)
	}
}
