package sensors

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// parseCFSQuota turns v1 cpu.cfs_quota_us and cpu.cfs_period_us into
// cores; a quota of -1 means unlimited (nil).
func parseCFSQuota(quota, period string) (*float64, error) {
	q, err := strconv.ParseInt(strings.TrimSpace(quota), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cpu.cfs_quota_us: %q is not a number", strings.TrimSpace(quota))
	}
	if q < 0 {
		return nil, nil
	}
	p, err := parseUint(period)
	if err != nil || p == 0 {
		return nil, fmt.Errorf("cpu.cfs_period_us: %q is not a positive number", strings.TrimSpace(period))
	}
	cores := float64(q) / float64(p)
	return &cores, nil
}

// parseCPUMax turns v2 cpu.max ("max 100000" or "50000 100000") into cores.
func parseCPUMax(content string) (*float64, error) {
	fields := strings.Fields(content)
	if len(fields) != 2 {
		return nil, fmt.Errorf("cpu.max: want \"quota period\", got %q", strings.TrimSpace(content))
	}
	if fields[0] == "max" {
		return nil, nil
	}
	return parseCFSQuota(fields[0], fields[1])
}

// sharesFromWeight reports a v2 weight in v1 shares, so observations
// speak in shares on both versions, as specs and decisions do. It inverts
// the linear mapping the cgroup actuator writes with (runc's
// weight = 1 + (shares-2)·9999/262142, see actuators/cgroup
// WeightFromShares): shares a decision set read back as the smallest
// shares of the same weight step (1024 reads back as 999). A weight nobody
// wrote, such as the default 100, reads as 2598 in that scale; the
// scheduler's own view of it is 1024 shares, but the ratios between
// containers are the same either way.
func sharesFromWeight(weight uint64) uint64 {
	return ((weight-1)*262142+9998)/9999 + 2
}

// parseCPUWeight reads v2 cpu.weight as shares.
func parseCPUWeight(content string) (uint64, error) {
	weight, err := parseUint(content)
	if err != nil || weight < 1 || weight > 10000 {
		return 0, fmt.Errorf("cpu.weight: want 1-10000, got %q", strings.TrimSpace(content))
	}
	return sharesFromWeight(weight), nil
}

// parseCPUSetFile checks a cpuset.cpus file and returns its list as is.
func parseCPUSetFile(content string) (string, error) {
	list := strings.TrimSpace(content)
	if list == "" {
		return "", nil
	}
	if _, err := state.ParseCPUSet(list); err != nil {
		return "", fmt.Errorf("cpuset.cpus: %w", err)
	}
	return list, nil
}
