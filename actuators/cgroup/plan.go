package cgroup

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

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

// PlanCPU computes the writes that give a cgroup the CPU settings r, in the
// order they must happen. Following state.CPUResources, a nil
// QuotaCores removes the quota, a nil Shares and an empty CPUSet leave
// those settings alone.
func PlanCPU(v cgroupfs.Version, r state.CPUResources) ([]Write, error) {
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

func quotaWrites(v cgroupfs.Version, cores *float64) ([]Write, error) {
	if cores == nil {
		if v == cgroupfs.V2 {
			return []Write{{File{"cpu", "cpu.max"}, cgroupfs.FormatCPUMax(nil, PeriodMicros)}}, nil
		}
		return []Write{{File{"cpu", "cpu.cfs_quota_us"}, "-1"}}, nil
	}
	micros, err := QuotaMicros(*cores)
	if err != nil {
		return nil, err
	}
	if v == cgroupfs.V2 {
		return []Write{{File{"cpu", "cpu.max"}, cgroupfs.FormatCPUMax(&micros, PeriodMicros)}}, nil
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

func sharesWrite(v cgroupfs.Version, shares uint64) (Write, error) {
	value, err := cgroupfs.FormatShares(v, shares)
	if err != nil {
		return Write{}, err
	}
	if v == cgroupfs.V2 {
		return Write{File{"cpu", "cpu.weight"}, value}, nil
	}
	return Write{File{"cpu", "cpu.shares"}, value}, nil
}
