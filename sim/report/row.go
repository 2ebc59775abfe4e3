// Package report turns an experiment's per-tick measurements into its three
// outputs: timeseries.csv, plot.svg and summary.json. It knows nothing of how
// the measurements were taken: the simulator and the real-node runner both
// hand it one Row per tick per phase, so the two modes write the same files
// and their summaries compare field by field.
//
// A runner's duties:
//
//  1. For every tick of every phase, in order, append a Row. Rates are in
//     cores (CPU-seconds per second, averaged over the tick); queued work is
//     in CPU-seconds. A tick the runner could not measure is left out, not
//     filled with zeros. Row.SetVictimLatency fills the victim's latency
//     from the node's latency stats for the tick and the scenario's
//     VictimSLO; a tick without a measured request keeps them nil.
//  2. At the end, call WriteCSV, WriteSVG and Summarize with the scenario
//     that was run (after Scaled, if it was shortened), set Summary.Mode and
//     write it with Summary.WriteJSON.
//
// The metric definitions live on Summarize and in docs/experiments.md.
package report

import (
	"maps"
	"slices"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// Row is one tick of one phase. The victim is modelled as a work queue: work
// arrives at VictimDemandCores, is served by the CPU the victim gets, and
// what is not served waits as backlog. In the simulator these come from the
// model; on a real node from the workload's own report (arrived, served,
// backlog) and the cgroup's counters (usage, wait).
type Row struct {
	Phase   string
	Control scenario.Control
	// Seconds is the end of the tick, counted from the phase's start; the
	// tick covers (Seconds − IntervalSeconds, Seconds].
	Seconds         float64
	IntervalSeconds float64

	// VictimDemandCores is the rate at which work arrived during the tick.
	VictimDemandCores float64
	// VictimUsageCores is the CPU the victim used.
	VictimUsageCores float64
	// VictimServedCores is the rate at which queued work was served; on a
	// real node it can differ a little from usage (the server's overhead).
	VictimServedCores float64
	// VictimBacklogStartCPUSeconds and VictimBacklogEndCPUSeconds are the
	// work queued at the tick's start and end.
	VictimBacklogStartCPUSeconds float64
	VictimBacklogEndCPUSeconds   float64
	// VictimWaitCores is the victim's run-queue wait: time runnable but not
	// running, per second.
	VictimWaitCores float64
	// VictimQuotaCores is the victim's CFS quota in force; nil when
	// unlimited.
	VictimQuotaCores *float64

	HogUsageCores float64
	// HogQuotaCores is the hog's CFS quota in force; nil when unlimited.
	HogQuotaCores *float64

	// SharedCapacityCores is the capacity of the CPUs the victim and the hog
	// can both run on (scenario.SharedCPUs), whether or not the hog runs.
	SharedCapacityCores float64

	// VictimLatencyP50Ms and VictimLatencyP99Ms are quantiles of the
	// latency of the victim's requests in the tick, in milliseconds: from
	// the latency model in the simulator, from the victim's server spans on
	// a real node. Nil when no request was measured in the tick.
	VictimLatencyP50Ms *float64
	VictimLatencyP99Ms *float64
	// VictimSLOP99Ms is the victim's SLO, the bound on VictimLatencyP99Ms;
	// nil when it has none.
	VictimSLOP99Ms *float64

	// BestEffort is every best-effort container that ran in the tick, the
	// hog included, by ID. It is summarised, not written to the CSV.
	BestEffort []ContainerCPU
}

// ContainerCPU is one container's CPU in a tick.
type ContainerCPU struct {
	ID         string
	UsageCores float64
	// AvailableCores is what it could have used: the capacity of its CPUs
	// less what the latency-critical containers used on them.
	AvailableCores float64
}

// CPUSeconds sums containers' CPU over ticks of unequal length, by ID: the
// CPU-seconds each used and could have used over the seconds it ran.
type CPUSeconds map[string]*cpuSeconds

type cpuSeconds struct{ seconds, used, available float64 }

// Add counts one tick of seconds.
func (s CPUSeconds) Add(cpu []ContainerCPU, seconds float64) {
	for _, c := range cpu {
		sum := s[c.ID]
		if sum == nil {
			sum = &cpuSeconds{}
			s[c.ID] = sum
		}
		sum.seconds += seconds
		sum.used += c.UsageCores * seconds
		sum.available += c.AvailableCores * seconds
	}
}

// Rates are the sums as rates over the time each container ran, by ID.
func (s CPUSeconds) Rates() []ContainerCPU {
	var out []ContainerCPU
	for _, id := range slices.Sorted(maps.Keys(s)) {
		if sum := s[id]; sum.seconds > 0 {
			out = append(out, ContainerCPU{ID: id, UsageCores: sum.used / sum.seconds, AvailableCores: sum.available / sum.seconds})
		}
	}
	return out
}

// SetVictimLatency fills the latency fields from what was measured of the
// victim's requests over the tick (sim.ContainerTick.Latency or
// state.ContainerObservation.Latency; nil or no requests leaves them nil)
// and the victim's SLO (scenario.VictimSLO; nil when it has none).
func (r *Row) SetVictimLatency(latency *state.LatencyStats, slo *state.SLOSpec) {
	r.VictimLatencyP50Ms, r.VictimLatencyP99Ms, r.VictimSLOP99Ms = nil, nil, nil
	if latency != nil && latency.Count > 0 {
		r.VictimLatencyP50Ms, r.VictimLatencyP99Ms = some(latency.P50Ms), some(latency.P99Ms)
	}
	if slo != nil {
		r.VictimSLOP99Ms = some(slo.LatencyP99Ms)
	}
}

// ViolatesSLO reports whether the tick's p99 was above the SLO bound; a
// tick in which no request was measured does not violate it.
func (r Row) ViolatesSLO(boundMs float64) bool {
	return r.VictimLatencyP99Ms != nil && *r.VictimLatencyP99Ms > boundMs
}

// VictimArrivedCPUSeconds is the work that arrived during the tick.
func (r Row) VictimArrivedCPUSeconds() float64 { return r.VictimDemandCores * r.IntervalSeconds }

// VictimServedCPUSeconds is the work served during the tick.
func (r Row) VictimServedCPUSeconds() float64 { return r.VictimServedCores * r.IntervalSeconds }

// VictimSatisfaction is the share of the work wanted during the tick that was
// served: min(1, served / (arrived + backlog at the tick's start)), and 1
// when nothing was wanted.
func (r Row) VictimSatisfaction() float64 {
	wanted := r.VictimArrivedCPUSeconds() + r.VictimBacklogStartCPUSeconds
	if wanted <= 0 {
		return 1
	}
	return min(1, r.VictimServedCPUSeconds()/wanted)
}

// VictimWaitRatio is the share of the time the victim wanted a CPU that it
// spent waiting for one: wait / (usage + wait), and 0 when it wanted none.
func (r Row) VictimWaitRatio() float64 {
	wanted := r.VictimUsageCores + r.VictimWaitCores
	if wanted <= 0 {
		return 0
	}
	return r.VictimWaitCores / wanted
}
