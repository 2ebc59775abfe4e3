package reconciler

import (
	"math"
	"slices"

	"github.com/sluice-io/sluice/state"
)

// Tolerances for comparing settings read back from an actuator with the
// desired ones. cgroups store a quota in whole microseconds of a period and
// tc a rate in bytes per second, so a value read back is rarely the float
// that was written; anything closer than this is the same setting.
const (
	quotaToleranceCores  = 1e-4
	bandwidthRelativeTol = 1e-3
)

// desiredCPU is what a container's CPU settings should be: the latest
// decision's entry for it when there is one (a nil quota there means "no
// limit"), else the spec's initial resources. Shares fall back to the spec
// when the decision leaves them alone. The cpuset always comes from the
// spec: the policy moves quota and shares, never pinning.
func desiredCPU(spec state.ContainerSpec, decision *state.ContainerDecision) state.CPUResources {
	want := state.CPUResources{
		QuotaCores: spec.Resources.CPUQuotaCores,
		Shares:     spec.Resources.CPUShares,
		CPUSet:     spec.CPUSet,
	}
	if decision != nil {
		want.QuotaCores = decision.CPUQuotaCores
		if decision.CPUShares != nil {
			want.Shares = decision.CPUShares
		}
	}
	return want
}

// initialCPU is what a runtime applies when it creates the container from
// its spec.
func initialCPU(spec state.ContainerSpec) state.CPUResources {
	return desiredCPU(spec, nil)
}

// desiredBandwidth is the decision's net_mbit, else the spec's; nil is
// unlimited.
func desiredBandwidth(spec state.ContainerSpec, decision *state.ContainerDecision) *float64 {
	if decision != nil && decision.NetMbit != nil {
		return decision.NetMbit
	}
	return spec.Resources.NetMbit
}

// cpuSatisfied reports whether actual already has every setting want asks
// for. Unset shares and an empty cpuset in want are "leave alone".
func cpuSatisfied(want, actual state.CPUResources) bool {
	if !quotaEqual(want.QuotaCores, actual.QuotaCores) {
		return false
	}
	if want.Shares != nil && (actual.Shares == nil || *want.Shares != *actual.Shares) {
		return false
	}
	return want.CPUSet == "" || sameCPUSet(want.CPUSet, actual.CPUSet)
}

func quotaEqual(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= quotaToleranceCores
}

func bandwidthEqual(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= bandwidthRelativeTol*math.Max(math.Abs(*a), math.Abs(*b))
}

// sameCPUSet compares cpuset lists by the CPUs they name, so "0-1" and
// "0,1" agree. A list that does not parse only equals itself.
func sameCPUSet(a, b string) bool {
	if a == b {
		return true
	}
	cpusA, errA := state.ParseCPUSet(a)
	cpusB, errB := state.ParseCPUSet(b)
	return errA == nil && errB == nil && slices.Equal(cpusA, cpusB)
}
