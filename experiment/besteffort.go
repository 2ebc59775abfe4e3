package experiment

import (
	"slices"

	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// bestEffortCPU is, for each best-effort container of the scenario that
// ran in a tick (those in usage, by ID), what it used and what it could
// have used: the capacity of its CPUs less what the latency-critical
// containers used on them, each latency-critical container's use spread
// evenly over its own CPUs. A hog alone on a core could have used all of
// it; a hog beside the victim, what the victim left.
func bestEffortCPU(sc scenario.Scenario, usage map[string]float64) []report.ContainerCPU {
	var out []report.ContainerCPU
	latencyCritical := containersOfClass(sc, state.LatencyCritical)
	for _, id := range containersOfClass(sc, state.BestEffort) {
		used, ran := usage[id]
		if !ran {
			continue
		}
		cpus := sc.CPUsOf(id)
		available := float64(len(cpus))
		for _, lc := range latencyCritical {
			lcCPUs := sc.CPUsOf(lc)
			overlap := 0
			for _, cpu := range lcCPUs {
				if slices.Contains(cpus, cpu) {
					overlap++
				}
			}
			available -= usage[lc] * float64(overlap) / float64(len(lcCPUs))
		}
		out = append(out, report.ContainerCPU{ID: id, UsageCores: used, AvailableCores: max(0, available)})
	}
	return out
}

// containersOfClass lists the IDs of the scenario's containers of class,
// sorted.
func containersOfClass(sc scenario.Scenario, class state.Class) []string {
	var ids []string
	for _, app := range sc.Apps {
		for _, c := range app.Spec.Containers {
			if c.Class == class {
				ids = append(ids, state.ContainerID(app.Spec.Name, c.Name))
			}
		}
	}
	slices.Sort(ids)
	return ids
}
