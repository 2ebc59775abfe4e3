package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// The modes an experiment runs in, for Summary.Mode.
const (
	ModeSim  = "sim"
	ModeReal = "real"
)

// ShieldThreshold is the windowed satisfaction the victim must keep for the
// shield to count as up, and ShieldWindowSeconds the window's length.
const (
	ShieldThreshold     = 0.95
	ShieldWindowSeconds = 1.0
)

// Summary is summary.json. Its field names are fixed; fields may be added.
type Summary struct {
	Scenario string `json:"scenario"`
	// Mode is ModeSim or ModeReal; Summarize leaves it for the runner to set.
	Mode        string  `json:"mode"`
	Seed        int64   `json:"seed"`
	TickSeconds float64 `json:"tick_seconds"`
	// VictimSLOP99Ms is the victim's SLO, which slo_violation_ratio is
	// measured against; absent when it has none.
	VictimSLOP99Ms *float64       `json:"victim_slo_p99_ms,omitempty"`
	Phases         []PhaseSummary `json:"phases"`
}

// PhaseSummary holds one phase's metrics; Summarize defines each.
type PhaseSummary struct {
	Name                       string           `json:"name"`
	Control                    scenario.Control `json:"control"`
	VictimCPUSatisfaction      float64          `json:"victim_cpu_satisfaction"`
	VictimBacklogP99CPUSeconds float64          `json:"victim_backlog_p99_cpu_seconds"`
	// HogShareOfFreeCPU is null when the hog does not run in the phase.
	HogShareOfFreeCPU    *float64 `json:"hog_share_of_free_cpu"`
	SharedCPUUtilization float64  `json:"shared_cpu_utilization"`
	VictimWaitRatioP99   float64  `json:"victim_wait_ratio_p99"`
	// TimeToShieldSeconds is null when the hog does not run in the phase or
	// the victim was never shielded; ShieldReached tells the two apart.
	TimeToShieldSeconds *float64 `json:"time_to_shield_seconds"`

	// ShieldReached is set when the hog runs: whether the windowed
	// satisfaction ended the phase at or above ShieldThreshold for good.
	ShieldReached *bool `json:"shield_reached,omitempty"`
	// HogStartSeconds is when the hog started, after the phase began.
	HogStartSeconds *float64 `json:"hog_start_seconds,omitempty"`
	// Ticks is how many rows the phase had; 0 means every metric is empty.
	Ticks int `json:"ticks"`

	// VictimLatencyP50Ms and VictimLatencyP99Ms are null when no tick of the
	// phase measured a request.
	VictimLatencyP50Ms *float64 `json:"victim_latency_p50_ms"`
	VictimLatencyP99Ms *float64 `json:"victim_latency_p99_ms"`
	// SLOViolationRatio is null when the victim has no SLO or the phase no
	// ticks.
	SLOViolationRatio *float64 `json:"slo_violation_ratio"`

	// BestEffort is every best-effort container that ran in the phase, by
	// name (its container ID).
	BestEffort []BestEffortSummary `json:"best_effort"`

	// VictimQuotaMeanCores is the mean quota in force on the victim over
	// the phase's ticks that had one; absent when none did.
	VictimQuotaMeanCores *float64 `json:"victim_quota_mean_cores,omitempty"`
	// VictimQuotaLimitCores is the quota the victim's spec sets in the
	// phase (its limit); absent when it sets none.
	VictimQuotaLimitCores *float64 `json:"victim_quota_limit_cores,omitempty"`
}

// BestEffortSummary is one best-effort container over a phase.
type BestEffortSummary struct {
	Name     string  `json:"name"`
	CPUCores float64 `json:"cpu_cores"`
	// ShareOfAvailableCPU is null when nothing was available to it.
	ShareOfAvailableCPU *float64 `json:"share_of_available_cpu"`
}

// Summarize computes each phase's metrics from its rows (matched by phase
// name; rows of phases the scenario does not have are ignored). Work and CPU
// are summed per tick in CPU-seconds (rate × IntervalSeconds), so ticks of
// unequal length weigh by their length. Percentiles are nearest-rank: the
// p-th percentile of n values is the ⌈p·n/100⌉-th smallest.
//
//   - victim_cpu_satisfaction: the mean over the phase's ticks of
//     Row.VictimSatisfaction, min(1, served / (arrived + backlog at the tick's
//     start)).
//   - victim_backlog_p99_cpu_seconds: the 99th percentile over the ticks of
//     the backlog at the tick's end.
//   - hog_share_of_free_cpu: Σ hog used / Σ (shared capacity − victim used),
//     over the ticks from the hog's start (a tick counts when it ends after
//     the start); null when the hog does not run or nothing was free.
//   - shared_cpu_utilization: Σ (victim used + hog used) / Σ shared capacity
//     over all the phase's ticks.
//   - victim_wait_ratio_p99: the 99th percentile over the ticks of
//     wait / (used + wait) (Row.VictimWaitRatio).
//   - time_to_shield_seconds: see timeToShield.
//   - victim_latency_p50_ms: the median over the ticks that measured a
//     request of the tick's p50; victim_latency_p99_ms: the 99th percentile
//     over those ticks of the tick's p99. Each tick weighs the same however
//     many requests it had, like every other metric here; the rows hold
//     quantiles, not the requests, so a phase-wide quantile of requests is
//     not available. Null when no tick measured a request.
//   - slo_violation_ratio: the share of the phase's ticks whose p99 was
//     above the SLO (Row.ViolatesSLO); a tick without a measured request does
//     not violate it. Null when the victim has no SLO.
//   - victim_quota_mean_cores: Σ quota × seconds / Σ seconds over the
//     ticks in which the victim had a quota; absent when none had.
//     victim_quota_limit_cores: the quota of the victim's spec in the
//     phase (scenario.PhaseApps); absent when it has none.
//   - best_effort: per best-effort container, over the ticks it ran in,
//     cpu_cores = Σ used / Σ seconds and share_of_available_cpu = Σ used /
//     Σ available (Row.BestEffort), sorted by name.
//
// Values are rounded to 6 decimals so that summaries diff cleanly.
func Summarize(s scenario.Scenario, rows []Row) Summary {
	byPhase := map[string][]Row{}
	for _, r := range rows {
		byPhase[r.Phase] = append(byPhase[r.Phase], r)
	}
	for _, phaseRows := range byPhase {
		slices.SortStableFunc(phaseRows, func(a, b Row) int { return cmp.Compare(a.Seconds, b.Seconds) })
	}
	summary := Summary{Scenario: s.Name, Seed: s.Seed, TickSeconds: s.TickSeconds, Phases: []PhaseSummary{}}
	if slo := s.VictimSLO(); slo != nil {
		summary.VictimSLOP99Ms = some(slo.LatencyP99Ms)
	}
	for i, p := range s.Phases {
		summary.Phases = append(summary.Phases, summarizePhase(s, i, byPhase[p.Name]))
	}
	return summary
}

func summarizePhase(s scenario.Scenario, i int, rows []Row) PhaseSummary {
	p := s.Phases[i]
	out := PhaseSummary{Name: p.Name, Control: p.Control, Ticks: len(rows), BestEffort: summarizeBestEffort(rows)}
	out.VictimQuotaLimitCores = victimQuotaLimit(s, i)
	if len(rows) == 0 {
		return out
	}
	out.VictimCPUSatisfaction = round6(meanSatisfaction(rows))
	out.VictimBacklogP99CPUSeconds = round6(Percentile(collect(rows, Row.backlogEnd), 99))
	out.VictimWaitRatioP99 = round6(Percentile(collect(rows, Row.VictimWaitRatio), 99))
	out.SharedCPUUtilization = round6(sharedUtilization(rows))
	out.VictimLatencyP50Ms, out.VictimLatencyP99Ms = latencyQuantiles(rows)
	out.VictimQuotaMeanCores = roundPtr(meanVictimQuota(rows))
	if slo := s.VictimSLO(); slo != nil {
		out.SLOViolationRatio = roundPtr(some(sloViolationRatio(rows, slo.LatencyP99Ms)))
	}
	hogStart, hogRuns := p.HogStart(s)
	if !hogRuns {
		return out
	}
	out.HogStartSeconds = &hogStart
	out.HogShareOfFreeCPU = roundPtr(hogShareOfFreeCPU(rows, hogStart))
	tts, reached := timeToShield(rows, hogStart)
	out.ShieldReached = &reached
	if reached {
		out.TimeToShieldSeconds = roundPtr(&tts)
	}
	return out
}

func (r Row) backlogEnd() float64 { return r.VictimBacklogEndCPUSeconds }

func collect(rows []Row, value func(Row) float64) []float64 {
	values := make([]float64, len(rows))
	for i, r := range rows {
		values[i] = value(r)
	}
	return values
}

func meanSatisfaction(rows []Row) float64 {
	var sum float64
	for _, r := range rows {
		sum += r.VictimSatisfaction()
	}
	return sum / float64(len(rows))
}

// latencyQuantiles is the median of the ticks' p50 and the p99 of their
// p99, over the ticks that measured a request.
func latencyQuantiles(rows []Row) (p50, p99 *float64) {
	var medians, tails []float64
	for _, r := range rows {
		if r.VictimLatencyP50Ms != nil && r.VictimLatencyP99Ms != nil {
			medians = append(medians, *r.VictimLatencyP50Ms)
			tails = append(tails, *r.VictimLatencyP99Ms)
		}
	}
	if len(tails) == 0 {
		return nil, nil
	}
	return roundPtr(some(Percentile(medians, 50))), roundPtr(some(Percentile(tails, 99)))
}

func sloViolationRatio(rows []Row, boundMs float64) float64 {
	violations := 0
	for _, r := range rows {
		if r.ViolatesSLO(boundMs) {
			violations++
		}
	}
	return float64(violations) / float64(len(rows))
}

// meanVictimQuota weighs each tick with a quota by its length.
func meanVictimQuota(rows []Row) *float64 {
	var quota, seconds float64
	for _, r := range rows {
		if r.VictimQuotaCores != nil {
			quota += *r.VictimQuotaCores * r.IntervalSeconds
			seconds += r.IntervalSeconds
		}
	}
	if seconds <= 0 {
		return nil
	}
	return some(quota / seconds)
}

// victimQuotaLimit is the quota the victim's spec sets in phase i, the
// phase's static resources merged in.
func victimQuotaLimit(s scenario.Scenario, i int) *float64 {
	for _, app := range s.PhaseApps(i) {
		for _, c := range app.Spec.Containers {
			if state.ContainerID(app.Spec.Name, c.Name) == s.Victim {
				return roundPtr(c.Resources.CPUQuotaCores)
			}
		}
	}
	return nil
}

func sharedUtilization(rows []Row) float64 {
	var used, capacity float64
	for _, r := range rows {
		used += (r.VictimUsageCores + r.HogUsageCores) * r.IntervalSeconds
		capacity += r.SharedCapacityCores * r.IntervalSeconds
	}
	if capacity <= 0 {
		return 0
	}
	return used / capacity
}

// hogShareOfFreeCPU sums only from the hog's start: before it the hog cannot
// use anything, and counting those ticks would measure the scenario's
// schedule rather than the control.
func hogShareOfFreeCPU(rows []Row, hogStart float64) *float64 {
	var hogUsed, free float64
	for _, r := range rows {
		if !endsAfter(r, hogStart) {
			continue
		}
		hogUsed += r.HogUsageCores * r.IntervalSeconds
		free += (r.SharedCapacityCores - r.VictimUsageCores) * r.IntervalSeconds
	}
	if free <= 0 {
		return nil
	}
	share := hogUsed / free
	return &share
}

// timeEpsilon absorbs rounding in tick times summed from float intervals.
const timeEpsilon = 1e-9

func endsAfter(r Row, t float64) bool { return r.Seconds > t+timeEpsilon }

// timeToShield measures how long after the hog's start the victim is
// shielded for good. Each tick k from the one the hog starts in opens a
// window: the ticks that start within ShieldWindowSeconds of tick k's start
// (fewer at the phase's end). The window is up when the mean satisfaction of
// its ticks is at least ShieldThreshold. Let k be the tick after the last
// window that is down, or the first judged tick if none is: the time to
// shield is k's start minus the hog's start (never below 0). If the last
// window is down, the victim was never shielded (reached = false).
//
// A window is dated by its start, not its end, so the metric says when the
// shield came up; dating it by its end would add up to a whole window to
// every dip, however quickly the control answered it.
func timeToShield(rows []Row, hogStart float64) (seconds float64, reached bool) {
	first, lastDown := -1, -1
	for i, r := range rows {
		if !endsAfter(r, hogStart) {
			continue
		}
		if first < 0 {
			first = i
		}
		if windowSatisfaction(rows, i) < ShieldThreshold {
			lastDown = i
		}
	}
	if first < 0 || lastDown == len(rows)-1 {
		return 0, false
	}
	k := first
	if lastDown >= 0 {
		k = lastDown + 1
	}
	return max(0, rows[k].start()-hogStart), true
}

func (r Row) start() float64 { return r.Seconds - r.IntervalSeconds }

// windowSatisfaction is the mean satisfaction of the ticks that start within
// ShieldWindowSeconds of rows[from]'s start.
func windowSatisfaction(rows []Row, from int) float64 {
	until := rows[from].start() + ShieldWindowSeconds - timeEpsilon
	var sum float64
	var n int
	for i := from; i < len(rows) && rows[i].start() < until; i++ {
		sum += rows[i].VictimSatisfaction()
		n++
	}
	return sum / float64(n)
}

// Percentile returns the nearest-rank p-th percentile of values (0 < p ≤
// 100): the ⌈p·n/100⌉-th smallest of the n values. It returns 0 for no values.
func Percentile(values []float64, p int) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ⌈p·n/100⌉ in integers, free of float rounding
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func round6(v float64) float64 {
	r := math.Round(v*1e6) / 1e6
	if r == 0 {
		return 0 // no "-0" in the output
	}
	return r
}

func roundPtr(v *float64) *float64 {
	if v == nil {
		return nil
	}
	r := round6(*v)
	return &r
}

// WriteJSON writes the summary as indented JSON. It refuses a summary whose
// Mode the runner forgot to set.
func (s Summary) WriteJSON(w io.Writer) error {
	if s.Mode != ModeSim && s.Mode != ModeReal {
		return fmt.Errorf("write summary of %s: mode %q: must be %q or %q", s.Scenario, s.Mode, ModeSim, ModeReal)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("write summary of %s: %w", s.Scenario, err)
	}
	return nil
}

func summarizeBestEffort(rows []Row) []BestEffortSummary {
	sums := CPUSeconds{}
	for _, r := range rows {
		sums.Add(r.BestEffort, r.IntervalSeconds)
	}
	out := []BestEffortSummary{}
	for _, c := range sums.Rates() {
		summary := BestEffortSummary{Name: c.ID, CPUCores: round6(c.UsageCores)}
		if c.AvailableCores > 0 {
			summary.ShareOfAvailableCPU = roundPtr(some(c.UsageCores / c.AvailableCores))
		}
		out = append(out, summary)
	}
	return out
}
