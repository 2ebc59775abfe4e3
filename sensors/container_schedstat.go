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
