package cgroup

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-io/sluice/reconciler"
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
// shares equivalent of cpu.weight (see SharesFromWeight).
func parseCPU(v Version, files map[string]string) (reconciler.CPUResources, error) {
	var r reconciler.CPUResources
	var err error
	if v == V2 {
		if r.QuotaCores, err = parseCPUMax(files["cpu.max"]); err != nil {
			return r, err
		}
		weight, err := parseUint("cpu.weight", files["cpu.weight"])
		if err != nil {
			return r, err
		}
		shares := SharesFromWeight(weight)
		r.Shares = &shares
	} else {
		if r.QuotaCores, err = parseCFSQuota(files["cpu.cfs_quota_us"], files["cpu.cfs_period_us"]); err != nil {
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

// parseCPUMax reads v2's "cpu.max": "max 100000" or "20000 100000".
func parseCPUMax(content string) (*float64, error) {
	quota, period, ok := strings.Cut(strings.TrimSpace(content), " ")
	if !ok {
		return nil, fmt.Errorf("cpu.max %q: want \"<quota|max> <period>\"", content)
	}
	if quota == "max" {
		return nil, nil
	}
	return parseCFSQuota(quota, period)
}

// parseCFSQuota turns a quota and period in µs into cores; a negative quota
// (v1's -1) means none.
func parseCFSQuota(quotaText, periodText string) (*float64, error) {
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
