package sensors

import "fmt"

// cpuCounters are a cgroup's cumulative CPU counters in nanoseconds.
type cpuCounters struct {
	usageNanos     uint64
	throttledNanos uint64
	nrThrottled    uint64
}

// parseCPUStatV1 reads throttling from v1 cpu.stat; usage comes from
// cpuacct.usage, a separate hierarchy.
func parseCPUStatV1(content string) (cpuCounters, error) {
	v, err := parseFlatKeyed(content, "nr_throttled", "throttled_time")
	if err != nil {
		return cpuCounters{}, fmt.Errorf("cpu.stat: %w", err)
	}
	return cpuCounters{nrThrottled: v["nr_throttled"], throttledNanos: v["throttled_time"]}, nil
}

// parseCPUStatV2 reads usage and throttling from v2 cpu.stat, which counts
// in microseconds.
func parseCPUStatV2(content string) (cpuCounters, error) {
	v, err := parseFlatKeyed(content, "usage_usec", "nr_throttled", "throttled_usec")
	if err != nil {
		return cpuCounters{}, fmt.Errorf("cpu.stat: %w", err)
	}
	if _, ok := v["usage_usec"]; !ok {
		return cpuCounters{}, fmt.Errorf("cpu.stat: no usage_usec line")
	}
	return cpuCounters{
		usageNanos:     v["usage_usec"] * 1000,
		nrThrottled:    v["nr_throttled"],
		throttledNanos: v["throttled_usec"] * 1000,
	}, nil
}
