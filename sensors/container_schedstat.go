package sensors

import (
	"fmt"
	"strconv"
	"strings"
)

// parseSchedstat returns the second field of /proc/<tid>/schedstat: the
// nanoseconds the thread spent runnable on a run queue but not running.
func parseSchedstat(content string) (uint64, error) {
	fields := strings.Fields(content)
	if len(fields) < 2 {
		return 0, fmt.Errorf("schedstat: want \"run wait slices\", got %q", strings.TrimSpace(content))
	}
	wait, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: wait %q is not an unsigned number", fields[1])
	}
	return wait, nil
}

// parseTaskList parses a cgroup's tasks (v1) or cgroup.threads (v2): one
// thread id per line.
func parseTaskList(content string) ([]int, error) {
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

// parsePressureSomeTotal returns the "some" total of a PSI file
// (cpu.pressure): microseconds during which at least one task of the
// cgroup was runnable and waiting.
func parsePressureSomeTotal(content string) (uint64, error) {
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
