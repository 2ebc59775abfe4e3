package cgroup

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// cpuFiles lists, per version, the files CPU settings are read from, keyed
// by the controller they belong to.
func cpuFiles(v Version) []File {
	if v == V2 {
		return []File{{"cpu", "cpu.max"}, {"cpu", "cpu.weight"}, {"cpuset", "cpuset.cpus"}}
	}
	return []File{
		{"cpu", "cpu.cfs_quota_us"}, {"cpu", "cpu.cfs_period_us"},
		{"cpu", "cpu.shares"}, {"cpuset", "cpuset.cpus"},
	}
}

// memoryFile is the file a memory limit is read from.
func memoryFile(v Version) File {
	if v == V2 {
		return File{"memory", "memory.max"}
	}
	return File{"memory", "memory.limit_in_bytes"}
}

// parseCPU turns the contents of the files cpuFiles names (keyed by file
// name) into CPU settings. Shares are always reported; on v2 they are the
// shares equivalent of cpu.weight (see ParseCPUWeight).
func parseCPU(v Version, files map[string]string) (state.CPUResources, error) {
	var r state.CPUResources
	var err error
	if v == V2 {
		if r.QuotaCores, err = ParseCPUMax(files["cpu.max"]); err != nil {
			return r, err
		}
		shares, err := ParseCPUWeight(files["cpu.weight"])
		if err != nil {
			return r, err
		}
		r.Shares = &shares
	} else {
		if r.QuotaCores, err = ParseCFSQuota(files["cpu.cfs_quota_us"], files["cpu.cfs_period_us"]); err != nil {
			return r, err
		}
		shares, err := parseUint("cpu.shares", files["cpu.shares"])
		if err != nil {
			return r, err
		}
		r.Shares = &shares
	}
	r.CPUSet = strings.TrimSpace(files["cpuset.cpus"])
	return r, nil
}

// ParseCPUMax reads v2's "cpu.max", "max 100000" or "20000 100000", as
// cores; nil means no quota.
func ParseCPUMax(content string) (*float64, error) {
	quota, period, ok := strings.Cut(strings.TrimSpace(content), " ")
	if !ok {
		return nil, fmt.Errorf("cpu.max %q: want \"<quota|max> <period>\"", content)
	}
	if quota == "max" {
		return nil, nil
	}
	return ParseCFSQuota(quota, period)
}

// ParseCFSQuota turns a quota and period in µs (v1's cpu.cfs_quota_us and
// cpu.cfs_period_us) into cores; a negative quota (v1's -1) means none.
func ParseCFSQuota(quotaText, periodText string) (*float64, error) {
	quota, err := strconv.ParseInt(strings.TrimSpace(quotaText), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("cpu quota %q: %w", quotaText, err)
	}
	if quota < 0 {
		return nil, nil
	}
	period, err := parseUint("cpu period", periodText)
	if err != nil {
		return nil, err
	}
	if period == 0 {
		return nil, fmt.Errorf("cpu period %q: must be positive", periodText)
	}
	cores := float64(quota) / float64(period)
	return &cores, nil
}

// ParseCPUWeight reads v2's cpu.weight as v1 shares (SharesFromWeight), so
// readers speak in shares on both versions, as specs and decisions do.
// Shares sluice wrote read back as the smallest shares of the same weight
// step (1024 reads back as 999); a weight nobody wrote, such as the default
// 100, reads as 2598 in that scale. The scheduler's own view of it is 1024
// shares, but the ratios between groups are the same either way.
func ParseCPUWeight(content string) (uint64, error) {
	weight, err := parseUint("cpu.weight", content)
	if err != nil {
		return 0, err
	}
	if weight < minWeight || weight > maxWeight {
		return 0, fmt.Errorf("cpu.weight %q: must be in [%d, %d]", strings.TrimSpace(content), minWeight, maxWeight)
	}
	return SharesFromWeight(weight), nil
}

// parseMemoryLimit reads memory.limit_in_bytes (v1) or memory.max (v2). v1
// reports "no limit" as LONG_MAX rounded down to a page rather than -1, so
// anything at or above unlimitedV1 counts as no limit whatever the page
// size.
func parseMemoryLimit(content string) (*int64, error) {
	text := strings.TrimSpace(content)
	if text == "max" {
		return nil, nil
	}
	limit, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("memory limit %q: %w", content, err)
	}
	if limit >= unlimitedV1 {
		return nil, nil
	}
	bytes := int64(limit)
	return &bytes, nil
}

// unlimitedV1 is far above any real limit and below LONG_MAX rounded down
// to any page size.
const unlimitedV1 = 1 << 62

func parseUint(what, content string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(content), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", what, content, err)
	}
	return n, nil
}
