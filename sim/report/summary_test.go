package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// handScenario has a contended phase "p" (2 s, hog from 1 s) and a phase
// "solo" without the hog; its apps are not needed by the report.
func handScenario() scenario.Scenario {
	return scenario.Scenario{
		Name: "hand", Seed: 7, TickSeconds: 0.5,
		Victim: "v/main", Hog: "h/burn",
		Phases: []scenario.Phase{
			{Name: "p", DurationSeconds: 2, Control: scenario.ControlNone, Start: map[string]float64{"v": 0, "h": 1}},
			{Name: "solo", DurationSeconds: 1, Control: scenario.ControlPolicy, Start: map[string]float64{"v": 0}},
		},
	}
}

func ptr(v float64) *float64 { return &v }

func show(v *float64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}

// handRows is four ticks of 0.5 s on one shared core. Per tick, in
// CPU-seconds (arrived, served, backlog start → end, satisfaction):
//
//	0.5: 0.2, 0.2,  0    → 0,    1
//	1.0: 0.4, 0.3,  0    → 0.1,  0.3/0.4 = 0.75
//	1.5: 0.4, 0.25, 0.1  → 0.25, 0.25/0.5 = 0.5
//	2.0: 0.2, 0.45, 0.25 → 0,    0.45/0.45 = 1
func handRows() []Row {
	base := Row{Phase: "p", Control: scenario.ControlNone, IntervalSeconds: 0.5, SharedCapacityCores: 1}
	rows := []Row{base, base, base, base}
	set := func(i int, seconds, demand, usage, backlogStart, backlogEnd, wait, hog float64) {
		r := &rows[i]
		r.Seconds, r.VictimDemandCores, r.VictimUsageCores, r.VictimServedCores = seconds, demand, usage, usage
		r.VictimBacklogStartCPUSeconds, r.VictimBacklogEndCPUSeconds = backlogStart, backlogEnd
		r.VictimWaitCores, r.HogUsageCores = wait, hog
	}
	set(0, 0.5, 0.4, 0.4, 0, 0, 0, 0)
	set(1, 1.0, 0.8, 0.6, 0, 0.1, 0.2, 0)
	set(2, 1.5, 0.8, 0.5, 0.1, 0.25, 0.5, 0.5)
	set(3, 2.0, 0.4, 0.9, 0.25, 0, 0.1, 0.05)
	rows[3].HogQuotaCores = ptr(0.1)
	// Latency (p50, p99 in ms) against an SLO of 20 ms: no request in the
	// first tick; the last tick's p99 is at the bound, not above it.
	slo := &state.SLOSpec{LatencyP99Ms: 20}
	rows[0].SetVictimLatency(nil, slo)
	rows[1].SetVictimLatency(&state.LatencyStats{Count: 50, P50Ms: 2, P99Ms: 10}, slo)
	rows[2].SetVictimLatency(&state.LatencyStats{Count: 60, P50Ms: 30, P99Ms: 80}, slo)
	rows[3].SetVictimLatency(&state.LatencyStats{Count: 40, P50Ms: 5, P99Ms: 20}, slo)
	return rows
}

// sloScenario is handScenario whose victim carries an SLO of 20 ms.
func sloScenario() scenario.Scenario {
	s := handScenario()
	s.Apps = []scenario.AppSource{
		{Spec: state.AppSpec{Name: "v", Containers: []state.ContainerSpec{
			{Name: "main", Image: "img", Class: state.LatencyCritical, SLO: &state.SLOSpec{LatencyP99Ms: 20}},
		}}},
		{Spec: state.AppSpec{Name: "h", Containers: []state.ContainerSpec{{Name: "burn", Image: "img", Class: state.BestEffort}}}},
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSummarizeByHand(t *testing.T) {
	summary := Summarize(handScenario(), handRows())
	if summary.Scenario != "hand" || summary.Seed != 7 || summary.TickSeconds != 0.5 || len(summary.Phases) != 2 {
		t.Fatalf("summary header = %+v", summary)
	}
	p := summary.Phases[0]
	checks := []struct {
		metric    string
		got, want float64
	}{
		// (1 + 0.75 + 0.5 + 1) / 4
		{"victim_cpu_satisfaction", p.VictimCPUSatisfaction, 0.8125},
		// backlog ends 0, 0.1, 0.25, 0: rank ⌈0.99·4⌉ = 4, the largest
		{"victim_backlog_p99_cpu_seconds", p.VictimBacklogP99CPUSeconds, 0.25},
		// wait ratios 0, 0.2/0.8, 0.5/1.0, 0.1/1.0
		{"victim_wait_ratio_p99", p.VictimWaitRatioP99, 0.5},
		// (0.4 + 0.6 + (0.5+0.5) + (0.9+0.05)) · 0.5 / (4 · 1 · 0.5)
		{"shared_cpu_utilization", p.SharedCPUUtilization, 0.7375},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %g, want %g", c.metric, c.got, c.want)
		}
	}
	// From the hog's start at 1 s: the ticks ending at 1.5 and 2.0.
	// hog (0.5 + 0.05)·0.5 = 0.275 over free ((1−0.5) + (1−0.9))·0.5 = 0.3.
	if p.HogShareOfFreeCPU == nil || !near(*p.HogShareOfFreeCPU, 0.916667) {
		t.Errorf("hog_share_of_free_cpu = %s, want 0.916667", show(p.HogShareOfFreeCPU))
	}
	// Windows from the hog's tick: starting 1.0: (0.5 + 1)/2 = 0.75, down;
	// starting 1.5: 1, up. So the shield is up at 1.5, 0.5 s after the hog.
	if p.TimeToShieldSeconds == nil || !near(*p.TimeToShieldSeconds, 0.5) || p.ShieldReached == nil || !*p.ShieldReached {
		t.Errorf("time_to_shield_seconds = %s (reached %v), want 0.5", show(p.TimeToShieldSeconds), p.ShieldReached != nil && *p.ShieldReached)
	}
	if p.Ticks != 4 || p.HogStartSeconds == nil || *p.HogStartSeconds != 1 {
		t.Errorf("ticks %d, hog start %v", p.Ticks, p.HogStartSeconds)
	}

	solo := summary.Phases[1]
	if solo.Ticks != 0 || solo.HogShareOfFreeCPU != nil || solo.TimeToShieldSeconds != nil || solo.ShieldReached != nil {
		t.Errorf("a phase without rows or hog = %+v", solo)
	}
}

func TestSummarizeLatencyByHand(t *testing.T) {
	summary := Summarize(sloScenario(), handRows())
	if summary.VictimSLOP99Ms == nil || *summary.VictimSLOP99Ms != 20 {
		t.Errorf("victim_slo_p99_ms = %s, want 20", show(summary.VictimSLOP99Ms))
	}
	p := summary.Phases[0]
	// The three ticks with requests: p50s 2, 30, 5 → the ⌈1.5⌉ = 2nd smallest;
	// p99s 10, 80, 20 → the ⌈2.97⌉ = 3rd smallest.
	if p.VictimLatencyP50Ms == nil || *p.VictimLatencyP50Ms != 5 {
		t.Errorf("victim_latency_p50_ms = %s, want 5", show(p.VictimLatencyP50Ms))
	}
	if p.VictimLatencyP99Ms == nil || *p.VictimLatencyP99Ms != 80 {
		t.Errorf("victim_latency_p99_ms = %s, want 80", show(p.VictimLatencyP99Ms))
	}
	// Only 80 ms is above 20; the tick without requests and the one at the
	// bound count as met, out of all four ticks.
	if p.SLOViolationRatio == nil || *p.SLOViolationRatio != 0.25 {
		t.Errorf("slo_violation_ratio = %s, want 0.25", show(p.SLOViolationRatio))
	}
	solo := summary.Phases[1]
	if solo.VictimLatencyP50Ms != nil || solo.VictimLatencyP99Ms != nil || solo.SLOViolationRatio != nil {
		t.Errorf("a phase without rows has latency metrics: %+v", solo)
	}

	// Without an SLO the ratio is null; without measured requests so are the quantiles.
	plain := Summarize(handScenario(), handRows())
	if plain.VictimSLOP99Ms != nil || plain.Phases[0].SLOViolationRatio != nil || plain.Phases[0].VictimLatencyP99Ms == nil {
		t.Errorf("without an SLO: slo %s, ratio %s, p99 %s; want null, null, 80", show(plain.VictimSLOP99Ms),
			show(plain.Phases[0].SLOViolationRatio), show(plain.Phases[0].VictimLatencyP99Ms))
	}
	silent := handRows()
	for i := range silent {
		silent[i].SetVictimLatency(&state.LatencyStats{}, &state.SLOSpec{LatencyP99Ms: 20})
	}
	quiet := Summarize(sloScenario(), silent).Phases[0]
	if quiet.VictimLatencyP50Ms != nil || quiet.VictimLatencyP99Ms != nil || quiet.SLOViolationRatio == nil || *quiet.SLOViolationRatio != 0 {
		t.Errorf("no requests at all: p50 %s p99 %s ratio %s; want null, null, 0", show(quiet.VictimLatencyP50Ms),
			show(quiet.VictimLatencyP99Ms), show(quiet.SLOViolationRatio))
	}
}

func TestSetVictimLatency(t *testing.T) {
	var r Row
	r.SetVictimLatency(&state.LatencyStats{Count: 3, P50Ms: 1.5, P95Ms: 4, P99Ms: 7, MaxMs: 9}, &state.SLOSpec{LatencyP99Ms: 20})
	if show(r.VictimLatencyP50Ms) != "1.5" || show(r.VictimLatencyP99Ms) != "7" || show(r.VictimSLOP99Ms) != "20" {
		t.Errorf("row latency p50 %s p99 %s slo %s; want 1.5, 7, 20", show(r.VictimLatencyP50Ms), show(r.VictimLatencyP99Ms), show(r.VictimSLOP99Ms))
	}
	if !r.ViolatesSLO(6.9) || r.ViolatesSLO(7) {
		t.Error("a p99 of 7 ms should violate a bound of 6.9 and meet one of 7")
	}
	r.SetVictimLatency(&state.LatencyStats{Count: 0, P99Ms: 7}, nil)
	if r.VictimLatencyP50Ms != nil || r.VictimLatencyP99Ms != nil || r.VictimSLOP99Ms != nil || r.ViolatesSLO(0) {
		t.Errorf("no requests and no SLO: %s %s %s; want all nil", show(r.VictimLatencyP50Ms), show(r.VictimLatencyP99Ms), show(r.VictimSLOP99Ms))
	}
}

func TestSummarizeWithoutHog(t *testing.T) {
	s := handScenario()
	rows := handRows()
	for i := range rows {
		rows[i].Phase = "solo"
	}
	got := Summarize(s, rows).Phases[1]
	if got.HogShareOfFreeCPU != nil || got.TimeToShieldSeconds != nil || got.ShieldReached != nil || got.HogStartSeconds != nil {
		t.Errorf("phase without a hog has hog metrics: %+v", got)
	}
	if !near(got.VictimCPUSatisfaction, 0.8125) {
		t.Errorf("satisfaction = %g, want 0.8125 as in the hand phase", got.VictimCPUSatisfaction)
	}
}

// satisfactionRows makes ticks of 0.25 s whose satisfactions are given:
// no backlog, demand 1 core, served the given share of it.
func satisfactionRows(satisfactions ...float64) []Row {
	rows := make([]Row, len(satisfactions))
	for i, s := range satisfactions {
		rows[i] = Row{
			Phase: "p", Seconds: 0.25 * float64(i+1), IntervalSeconds: 0.25,
			VictimDemandCores: 1, VictimUsageCores: s, VictimServedCores: s, SharedCapacityCores: 1,
		}
	}
	return rows
}

func TestTimeToShield(t *testing.T) {
	const hogStart = 1.0 // the hog starts with the fifth tick (index 4)
	cases := []struct {
		name          string
		satisfactions []float64
		want          float64
		reached       bool
	}{
		// Window from 1.0: (0.6+0.9+1+1)/4 = 0.875 down; from 1.25: (0.9+3)/4 up.
		{"one dip", []float64{1, 1, 1, 1, 0.6, 0.9, 1, 1, 1, 1, 1, 1}, 0.25, true},
		// A second dip at index 9 keeps the windows from 1.5 to 2.25 down
		// ((3+0.5)/4, …, (0.5+1+1)/3); the one from 2.5 is up.
		{"later dip", []float64{1, 1, 1, 1, 0.6, 0.9, 1, 1, 1, 0.5, 1, 1}, 1.5, true},
		{"never hurt", []float64{1, 1, 1, 1, 1, 0.97, 1, 1}, 0, true},
		// The ticks before the hog do not count, however bad.
		{"bad before the hog", []float64{0, 0, 0, 0, 1, 1}, 0, true},
		// The last window is the last tick alone, at 0.9.
		{"never shielded", []float64{1, 1, 1, 1, 0.6, 1, 1, 1, 1, 1, 1, 0.9}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reached := timeToShield(satisfactionRows(c.satisfactions...), hogStart)
			if reached != c.reached || (reached && !near(got, c.want)) {
				t.Errorf("timeToShield = %g, %v; want %g, %v", got, reached, c.want, c.reached)
			}
		})
	}
}

func TestTimeToShieldNeverIsNull(t *testing.T) {
	s := handScenario()
	rows := satisfactionRows(1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5)
	for i := range rows {
		rows[i].Phase = "p"
	}
	s.Phases[0].DurationSeconds = 2
	p := Summarize(s, rows).Phases[0]
	if p.TimeToShieldSeconds != nil || p.ShieldReached == nil || *p.ShieldReached {
		t.Errorf("never shielded: time %v, reached %v; want null and false", p.TimeToShieldSeconds, p.ShieldReached)
	}
	var out bytes.Buffer
	sum := Summarize(s, rows)
	sum.Mode = ModeSim
	if err := sum.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"time_to_shield_seconds": null`) || !strings.Contains(out.String(), `"shield_reached": false`) {
		t.Errorf("summary.json does not say null and false:\n%s", out.String())
	}
}

func TestPercentileNearestRank(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100 … 1, unsorted on purpose
	}
	cases := []struct {
		values []float64
		p      int
		want   float64
	}{
		{nil, 99, 0},
		{[]float64{3}, 99, 3},
		{[]float64{5, 1, 4, 2, 3}, 50, 3},  // ⌈2.5⌉ = 3rd
		{[]float64{5, 1, 4, 2, 3}, 99, 5},  // ⌈4.95⌉ = 5th
		{[]float64{5, 1, 4, 2, 3}, 20, 1},  // ⌈1⌉ = 1st, exact rank
		{[]float64{5, 1, 4, 2, 3}, 100, 5}, // the largest
		{hundred, 99, 99},                  // ⌈99⌉ = 99th, not the maximum
		{append(hundred, 1000), 99, 100},   // ⌈99.99⌉ = 100th of 101
	}
	for _, c := range cases {
		if got := Percentile(c.values, c.p); got != c.want {
			t.Errorf("Percentile(%v, %d) = %g, want %g", c.values, c.p, got, c.want)
		}
	}
}

func TestRowRatios(t *testing.T) {
	idle := Row{IntervalSeconds: 0.25}
	if idle.VictimSatisfaction() != 1 || idle.VictimWaitRatio() != 0 {
		t.Errorf("idle victim: satisfaction %g, wait ratio %g; want 1 and 0", idle.VictimSatisfaction(), idle.VictimWaitRatio())
	}
	// Serving more than arrived (draining a backlog) is still satisfaction 1 at most.
	draining := Row{IntervalSeconds: 1, VictimDemandCores: 0.2, VictimServedCores: 0.5, VictimBacklogStartCPUSeconds: 0.1}
	if got := draining.VictimSatisfaction(); got != 1 {
		t.Errorf("draining satisfaction = %g, want 1", got)
	}
}

func TestSummaryJSONShape(t *testing.T) {
	sum := Summarize(handScenario(), handRows())
	if err := sum.WriteJSON(&bytes.Buffer{}); err == nil {
		t.Error("WriteJSON accepted a summary without a mode")
	}
	sum.Mode = ModeReal
	var out bytes.Buffer
	if err := sum.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"scenario", "mode", "seed", "tick_seconds", "phases"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("summary.json lacks %q", key)
		}
	}
	phase := doc["phases"].([]any)[0].(map[string]any)
	for _, key := range []string{"name", "control", "victim_cpu_satisfaction", "victim_backlog_p99_cpu_seconds",
		"hog_share_of_free_cpu", "shared_cpu_utilization", "victim_wait_ratio_p99", "time_to_shield_seconds",
		"victim_latency_p50_ms", "victim_latency_p99_ms", "slo_violation_ratio"} {
		if _, ok := phase[key]; !ok {
			t.Errorf("phase lacks %q", key)
		}
	}
	if doc["mode"] != "real" || phase["name"] != "p" || phase["control"] != "none" {
		t.Errorf("summary.json = %s", out.String())
	}
}

// The victim's quota: its limit from the phase's spec (static resources
// over the app's), and the mean in force over the ticks that had one,
// each weighed by its length.
func TestSummarizeVictimQuota(t *testing.T) {
	s := sloScenario()
	limit := 0.4
	s.Apps[0].Spec.Containers[0].Resources.CPUQuotaCores = &limit
	s.Phases[0].Control = scenario.ControlStaticQuota
	s.Phases[0].Resources = map[string]state.Resources{"v/main": {CPUQuotaCores: ptr(0.9)}}
	rows := handRows()
	rows[0].VictimQuotaCores = ptr(0.4)
	rows[1].VictimQuotaCores = ptr(1)
	rows[2].IntervalSeconds = 1
	rows[2].VictimQuotaCores = ptr(0.7)
	got := Summarize(s, rows)
	p, solo := got.Phases[0], got.Phases[1]
	if show(p.VictimQuotaLimitCores) != "0.9" || show(solo.VictimQuotaLimitCores) != "0.4" {
		t.Errorf("limits = %s, %s, want 0.9 (the phase's) and 0.4 (the spec's)", show(p.VictimQuotaLimitCores), show(solo.VictimQuotaLimitCores))
	}
	// (0.4·0.5 + 1·0.5 + 0.7·1) / 2; the last tick, unlimited, does not count.
	if show(p.VictimQuotaMeanCores) != "0.7" {
		t.Errorf("mean quota = %s, want 0.7", show(p.VictimQuotaMeanCores))
	}
	if solo.VictimQuotaMeanCores != nil {
		t.Errorf("a phase without rows has a mean quota %s", show(solo.VictimQuotaMeanCores))
	}
	data, err := json.Marshal(Summarize(handScenario(), rows[3:]).Phases[0])
	if err != nil || strings.Contains(string(data), "victim_quota") {
		t.Errorf("a victim without a quota has quota fields: %s (%v)", data, err)
	}
}
