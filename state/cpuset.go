package state

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// maxCPUSetBytes bounds a cpuset list: every CPU of MaxCPUs named one by
// one would not fit, ranges do.
const maxCPUSetBytes = 1024

// ParseCPUSet parses cpuset list syntax ("0", "0-2,5") into sorted CPU
// numbers. The list and every number in it are bounded (maxCPUSetBytes,
// CPUs below MaxCPUs) before any range is expanded, so no list costs more
// than MaxCPUs entries.
func ParseCPUSet(list string) ([]int, error) {
	if len(list) > maxCPUSetBytes {
		return nil, fmt.Errorf("%d bytes, over the maximum of %d", len(list), maxCPUSetBytes)
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(strings.TrimSpace(list), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseCPU(lo)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", list, err)
		}
		last := first
		if isRange {
			if last, err = parseCPU(hi); err != nil || last < first {
				return nil, fmt.Errorf("%q: range %q is not ascending CPU numbers below %d", list, part, MaxCPUs)
			}
		}
		for cpu := first; cpu <= last; cpu++ {
			seen[cpu] = true
		}
	}
	cpus := make([]int, 0, len(seen))
	for cpu := range seen {
		cpus = append(cpus, cpu)
	}
	sort.Ints(cpus)
	return cpus, nil
}

func parseCPU(s string) (int, error) {
	cpu, err := strconv.Atoi(s)
	if err != nil || cpu < 0 || cpu >= MaxCPUs {
		return 0, fmt.Errorf("%q is not a CPU number in [0, %d)", s, MaxCPUs)
	}
	return cpu, nil
}
