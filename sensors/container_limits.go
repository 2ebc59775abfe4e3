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

// sharesFromWeight reports a v2 weight in v1 shares the way the scheduler
// itself converts it (1024 shares per 100 weight, sched_weight_from_cgroup),
// so observations speak in shares on both versions, as ContainerSpec and
// decisions do. runc's older linear formula maps shares to weight
// differently; what is reported here is the weight the scheduler applies.
func sharesFromWeight(weight uint64) uint64 {
	return (weight*1024 + 50) / 100
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
