package cgroupfs

import (
	"fmt"
	"strconv"
	"strings"
)

// Shares limits of cgroup v1 (kernel MIN_SHARES, MAX_SHARES) and weight
// limits of cgroup v2.
const (
	MinShares = 2
	MaxShares = 262144
	minWeight = 1
	maxWeight = 10000
)

// ParseQuota reads a CFS quota as cores: v2's cpu.max (period unused), or
// v1's cpu.cfs_quota_us and cpu.cfs_period_us. nil means no quota.
func ParseQuota(v Version, quota, period string) (*float64, error) {
	if v == V2 {
		return ParseCPUMax(quota)
	}
	return ParseCFSQuota(quota, period)
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

// FormatCPUMax is the cpu.max that ParseCPUMax reads: quotaMicros per
// periodMicros, or no quota when quotaMicros is nil.
func FormatCPUMax(quotaMicros *int64, periodMicros int64) string {
	if quotaMicros == nil {
		return fmt.Sprintf("max %d", periodMicros)
	}
	return fmt.Sprintf("%d %d", *quotaMicros, periodMicros)
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
	period, err := ParseUint(periodText)
	if err != nil {
		return nil, fmt.Errorf("cpu period: %w", err)
	}
	if period == 0 {
		return nil, fmt.Errorf("cpu period %q: must be positive", periodText)
	}
	cores := float64(quota) / float64(period)
	return &cores, nil
}

// ParseShares reads v1's cpu.shares, or v2's cpu.weight as shares
// (ParseCPUWeight), so readers speak in shares on both versions, as specs
// and decisions do.
func ParseShares(v Version, content string) (uint64, error) {
	if v == V2 {
		return ParseCPUWeight(content)
	}
	shares, err := ParseUint(content)
	if err != nil {
		return 0, fmt.Errorf("cpu.shares: %w", err)
	}
	return shares, nil
}

// FormatShares is the value of cpu.shares (v1) or cpu.weight (v2,
// WeightFromShares) that gives a group shares, refusing what the kernel
// would.
func FormatShares(v Version, shares uint64) (string, error) {
	if shares < MinShares || shares > MaxShares {
		return "", fmt.Errorf("cpu shares %d: must be in [%d, %d]", shares, MinShares, MaxShares)
	}
	if v == V2 {
		return strconv.FormatUint(WeightFromShares(shares), 10), nil
	}
	return strconv.FormatUint(shares, 10), nil
}

// ParseCPUWeight reads v2's cpu.weight as v1 shares (SharesFromWeight).
// Shares sluice wrote read back as the smallest shares of the same weight
// step (1024 reads back as 999); a weight nobody wrote, such as the default
// 100, reads as 2598 in that scale. The scheduler's own view of it is 1024
// shares, but the ratios between groups are the same either way.
func ParseCPUWeight(content string) (uint64, error) {
	weight, err := ParseUint(content)
	if err != nil {
		return 0, fmt.Errorf("cpu.weight: %w", err)
	}
	if weight < minWeight || weight > maxWeight {
		return 0, fmt.Errorf("cpu.weight %q: must be in [%d, %d]", strings.TrimSpace(content), minWeight, maxWeight)
	}
	return SharesFromWeight(weight), nil
}

// WeightFromShares maps v1 shares [2, 262144] linearly onto v2 weights
// [1, 10000], the mapping runc and Docker used for years. The cgroups
// library now offers a curved mapping (ConvertCPUSharesToCgroupV2Value);
// sluice keeps the linear one because it has a simple inverse, so a weight
// read back can be explained in shares.
func WeightFromShares(shares uint64) uint64 {
	shares = min(max(shares, MinShares), MaxShares)
	return 1 + ((shares-2)*9999)/262142
}

// SharesFromWeight is the inverse of WeightFromShares: the smallest shares
// value whose weight is weight. The linear mapping loses precision (about
// 26 shares per weight step), so shares written on v2 read back rounded
// down to a step unless the writer remembers what it wrote.
func SharesFromWeight(weight uint64) uint64 {
	weight = min(max(weight, minWeight), maxWeight)
	// ceil((weight-1)*262142/9999) + 2
	return ((weight-1)*262142+9998)/9999 + 2
}
