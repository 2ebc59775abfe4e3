package cgroup

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// Version is the cgroup API a hierarchy speaks.
type Version int

const (
	// V1 is the legacy API: one hierarchy per controller, each mounted
	// under the root (cpu/, cpuacct/, cpuset/, memory/).
	V1 Version = 1
	// V2 is the unified API: one hierarchy holding every controller.
	V2 Version = 2
)

func (v Version) String() string {
	switch v {
	case V1:
		return "cgroup v1"
	case V2:
		return "cgroup v2"
	}
	return fmt.Sprintf("cgroup version %d", int(v))
}

// File is a cgroup control file. Controller names the v1 hierarchy the
// file lives in; on v2 every file lives in the one unified directory and
// Controller only says which controller the file belongs to.
type File struct {
	Controller string
	Name       string
}

// Write is one file write in a plan.
type Write struct {
	File
	Value string
}

// PeriodMicros is the CFS period sluice writes with every quota. 100 ms is
// the kernel's default, so a quota of q cores is q*100000 µs per period.
const PeriodMicros = 100000

// The kernel refuses a CFS quota below 1 ms per period.
const minQuotaMicros = 1000

// Shares limits of cgroup v1 (kernel MIN_SHARES, MAX_SHARES) and weight
// limits of cgroup v2.
const (
	minShares = 2
	maxShares = 262144
	minWeight = 1
	maxWeight = 10000
)

// PlanCPU computes the writes that give a cgroup the CPU settings r, in the
// order they must happen. Following state.CPUResources, a nil
// QuotaCores removes the quota, a nil Shares and an empty CPUSet leave
// those settings alone.
func PlanCPU(v Version, r state.CPUResources) ([]Write, error) {
	var plan []Write
	quota, err := quotaWrites(v, r.QuotaCores)
	if err != nil {
		return nil, err
	}
	plan = append(plan, quota...)
	if r.Shares != nil {
		w, err := sharesWrite(v, *r.Shares)
		if err != nil {
			return nil, err
		}
		plan = append(plan, w)
	}
	if r.CPUSet != "" {
		if _, err := state.ParseCPUSet(r.CPUSet); err != nil {
			return nil, fmt.Errorf("cpuset: %w", err)
		}
		plan = append(plan, Write{File{"cpuset", "cpuset.cpus"}, strings.TrimSpace(r.CPUSet)})
	}
	return plan, nil
}

func quotaWrites(v Version, cores *float64) ([]Write, error) {
	if cores == nil {
		if v == V2 {
			return []Write{{File{"cpu", "cpu.max"}, "max " + strconv.Itoa(PeriodMicros)}}, nil
		}
		return []Write{{File{"cpu", "cpu.cfs_quota_us"}, "-1"}}, nil
	}
	micros, err := QuotaMicros(*cores)
	if err != nil {
		return nil, err
	}
	if v == V2 {
		return []Write{{File{"cpu", "cpu.max"}, fmt.Sprintf("%d %d", micros, PeriodMicros)}}, nil
	}
	// The period goes first: a quota is only meaningful against the period
	// it was computed for.
	return []Write{
		{File{"cpu", "cpu.cfs_period_us"}, strconv.Itoa(PeriodMicros)},
		{File{"cpu", "cpu.cfs_quota_us"}, strconv.FormatInt(micros, 10)},
	}, nil
}

// QuotaMicros converts a quota in cores to CFS microseconds per
// PeriodMicros, rejecting what the kernel would refuse.
func QuotaMicros(cores float64) (int64, error) {
	if math.IsNaN(cores) || math.IsInf(cores, 0) || cores <= 0 {
		return 0, fmt.Errorf("cpu quota %v cores: must be a positive number", cores)
	}
	micros := int64(math.Round(cores * PeriodMicros))
	if micros < minQuotaMicros {
		return 0, fmt.Errorf("cpu quota %v cores is below the kernel minimum of %v cores (%d µs per %d µs period)",
			cores, float64(minQuotaMicros)/PeriodMicros, minQuotaMicros, PeriodMicros)
	}
	return micros, nil
}

func sharesWrite(v Version, shares uint64) (Write, error) {
	if shares < minShares || shares > maxShares {
		return Write{}, fmt.Errorf("cpu shares %d: must be in [%d, %d]", shares, minShares, maxShares)
	}
	if v == V2 {
		return Write{File{"cpu", "cpu.weight"}, strconv.FormatUint(WeightFromShares(shares), 10)}, nil
	}
	return Write{File{"cpu", "cpu.shares"}, strconv.FormatUint(shares, 10)}, nil
}

// WeightFromShares maps v1 shares [2, 262144] linearly onto v2 weights
// [1, 10000], the mapping runc and Docker used for years. The cgroups
// library now offers a curved mapping (ConvertCPUSharesToCgroupV2Value);
// sluice keeps the linear one because it has a simple inverse, so a weight
// read back can be explained in shares.
func WeightFromShares(shares uint64) uint64 {
	shares = min(max(shares, minShares), maxShares)
	return 1 + ((shares-2)*9999)/262142
}

// SharesFromWeight is the inverse of WeightFromShares: the smallest shares
// value whose weight is weight. The linear mapping loses precision (about
// 26 shares per weight step), so shares written on v2 read back rounded
// down to a step unless the caller remembers what it wrote.
func SharesFromWeight(weight uint64) uint64 {
	weight = min(max(weight, minWeight), maxWeight)
	// ceil((weight-1)*262142/9999) + 2
	return ((weight-1)*262142+9998)/9999 + 2
}

// PlanMemory computes the write that gives a cgroup the memory limit
// limitBytes; nil removes the limit.
//
// On v1 only memory.limit_in_bytes is written. If the container also has a
// memory+swap limit below the new limit the kernel refuses the write; sluice
// does not set memsw limits, so that only happens to containers created with
// one.
func PlanMemory(v Version, limitBytes *int64) ([]Write, error) {
	value := ""
	switch {
	case limitBytes == nil && v == V2:
		value = "max"
	case limitBytes == nil:
		value = "-1"
	case *limitBytes <= 0:
		return nil, fmt.Errorf("memory limit %d bytes: must be positive", *limitBytes)
	default:
		value = strconv.FormatInt(*limitBytes, 10)
	}
	if v == V2 {
		return []Write{{File{"memory", "memory.max"}, value}}, nil
	}
	return []Write{{File{"memory", "memory.limit_in_bytes"}, value}}, nil
}
