package cgroupfs

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// CPUStat is a group's cumulative CPU counters in nanoseconds.
type CPUStat struct {
	// UsageNanos is the CPU time the group's processes consumed. v1 keeps
	// it in cpuacct.usage (ParseUint), outside cpu.stat.
	UsageNanos uint64
	// ThrottledPeriods counts CFS periods in which the group ran out of
	// quota; ThrottledNanos is the time it then spent throttled.
	ThrottledPeriods uint64
	ThrottledNanos   uint64
}

// ParseCPUStat reads cpu.stat of version v. v1 counts in nanoseconds and
// has no usage; v2 counts in microseconds and must have usage.
//
// The cgroups library reads the same counters, but only by loading a group
// and opening its files on each call; readers that keep cpu.stat open
// between ticks need a parser of what they read.
func ParseCPUStat(v Version, content string) (CPUStat, error) {
	if v == V2 {
		values, err := parseFlatKeyed(content, "usage_usec", "nr_throttled", "throttled_usec")
		if err != nil {
			return CPUStat{}, fmt.Errorf("cpu.stat: %w", err)
		}
		if _, ok := values["usage_usec"]; !ok {
			return CPUStat{}, fmt.Errorf("cpu.stat: no usage_usec line")
		}
		return CPUStat{
			UsageNanos:       values["usage_usec"] * 1000,
			ThrottledPeriods: values["nr_throttled"],
			ThrottledNanos:   values["throttled_usec"] * 1000,
		}, nil
	}
	values, err := parseFlatKeyed(content, "nr_throttled", "throttled_time")
	if err != nil {
		return CPUStat{}, fmt.Errorf("cpu.stat: %w", err)
	}
	return CPUStat{ThrottledPeriods: values["nr_throttled"], ThrottledNanos: values["throttled_time"]}, nil
}

// parseFlatKeyed parses "key value" lines (cpu.stat), keeping the keys
// asked for; a missing key is not an error, since kernels differ.
func parseFlatKeyed(content string, keys ...string) (map[string]uint64, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	values := map[string]uint64{}
	for _, line := range strings.Split(content, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !want[key] {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an unsigned number", key, value)
		}
		values[key] = n
	}
	return values, nil
}

// ParseUint parses a file holding one unsigned number, such as
// cpuacct.usage, cpu.shares or memory.current.
func ParseUint(content string) (uint64, error) {
	value, err := strconv.ParseUint(strings.TrimSpace(content), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one unsigned number, got %q", strings.TrimSpace(content))
	}
	return value, nil
}

// ParseCPUSet checks a cpuset.cpus (or cpuset.cpus.effective) file and
// returns its list as is; empty means the file names no CPUs.
func ParseCPUSet(content string) (string, error) {
	list := strings.TrimSpace(content)
	if list == "" {
		return "", nil
	}
	if _, err := state.ParseCPUSet(list); err != nil {
		return "", fmt.Errorf("cpuset.cpus: %w", err)
	}
	return list, nil
}

// ParseTaskList parses a group's tasks (v1) or cgroup.threads (v2): one
// thread id per line.
func ParseTaskList(content string) ([]int, error) {
	var tids []int
	for _, line := range strings.Fields(content) {
		tid, err := strconv.Atoi(line)
		if err != nil || tid <= 0 {
			return nil, fmt.Errorf("task list: %q is not a thread id", line)
		}
		tids = append(tids, tid)
	}
	return tids, nil
}

// ParsePressureSomeTotal returns the "some" total of a PSI file
// (cpu.pressure): microseconds during which at least one task of the
// group was runnable and waiting.
func ParsePressureSomeTotal(content string) (uint64, error) {
	for _, line := range strings.Split(content, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "some" {
			continue
		}
		for _, field := range fields[1:] {
			if value, ok := strings.CutPrefix(field, "total="); ok {
				total, err := strconv.ParseUint(value, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("cpu.pressure: total %q is not an unsigned number", value)
				}
				return total, nil
			}
		}
	}
	return 0, fmt.Errorf("cpu.pressure: no \"some ... total=\" line in %q", strings.TrimSpace(content))
}
