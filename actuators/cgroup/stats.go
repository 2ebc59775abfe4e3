package cgroup

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"

	"github.com/sluice-io/sluice/state"
)

// Stats are a container's cumulative CPU counters since its cgroup was
// created. A reader takes differences between two reads.
type Stats struct {
	// UsageNanos is the CPU time the group's processes consumed.
	UsageNanos uint64
	// Periods counts CFS periods in which the group could run while it
	// had a quota; ThrottledPeriods those in which it ran out of quota.
	Periods          uint64
	ThrottledPeriods uint64
	// ThrottledNanos is the time the group spent throttled.
	ThrottledNanos uint64
}

// Stats reads the CPU counters of container ctr.
func (c *Controller) Stats(ctx context.Context, ctr state.Container) (Stats, error) {
	g, err := c.Locate(ctx, ctr)
	if err != nil {
		return Stats{}, err
	}
	return c.ReadStats(g)
}

// ReadStats reads the CPU counters of group g through the cgroups library.
// Each call loads the group afresh, which costs a few file opens; a sensor
// that reads every second may prefer to keep the files open itself.
func (c *Controller) ReadStats(g Group) (Stats, error) {
	if c.version == V2 {
		return c.readStatsV2(g)
	}
	return c.readStatsV1(g)
}

func (c *Controller) readStatsV2(g Group) (Stats, error) {
	if _, err := g.Dir(c.fs.Root, "cpu"); err != nil {
		return Stats{}, err
	}
	manager, err := cgroup2.Load(g.Unified, cgroup2.WithMountpoint(c.fs.Root))
	if err != nil {
		return Stats{}, fmt.Errorf("load %s (%s): %w", g, g.Version, err)
	}
	metrics, err := manager.StatFiltered(cgroup2.StatCPU)
	if err != nil {
		return Stats{}, fmt.Errorf("cpu.stat of %s (%s): %w", g, g.Version, err)
	}
	cpu := metrics.GetCPU()
	return Stats{
		UsageNanos:       cpu.GetUsageUsec() * 1000,
		Periods:          cpu.GetNrPeriods(),
		ThrottledPeriods: cpu.GetNrThrottled(),
		ThrottledNanos:   cpu.GetThrottledUsec() * 1000,
	}, nil
}

// readStatsV1 loads only the cpu and cpuacct hierarchies, each from its own
// directory under the root, so it works whether they are mounted separately
// (cpu/ and cpuacct/) or together behind the usual symlinks.
func (c *Controller) readStatsV1(g Group) (Stats, error) {
	// The library skips hierarchies whose directory is missing and would
	// then report zero usage; a missing one is an error here.
	for _, controller := range []string{"cpu", "cpuacct"} {
		if _, err := g.Dir(c.fs.Root, controller); err != nil {
			return Stats{}, err
		}
		if !c.fs.Exists(g, controller) {
			return Stats{}, fmt.Errorf("cpu stats of %s (%s): no %s directory under %s", g, g.Version, controller, c.fs.Root)
		}
	}
	root := c.fs.Root
	hierarchy := func() ([]cgroup1.Subsystem, error) {
		return []cgroup1.Subsystem{cgroup1.NewCpu(root), cgroup1.NewCpuacct(root)}, nil
	}
	path := func(name cgroup1.Name) (string, error) {
		if p, ok := g.Paths[string(name)]; ok {
			return p, nil
		}
		return "", cgroup1.ErrControllerNotActive
	}
	group, err := cgroup1.Load(path, cgroup1.WithHierarchy(hierarchy))
	if err != nil {
		return Stats{}, fmt.Errorf("load %s (%s): %w", g, g.Version, err)
	}
	metrics, err := group.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("cpu stats of %s (%s): %w", g, g.Version, err)
	}
	cpu := metrics.GetCPU()
	if cpu == nil {
		return Stats{}, errors.New("cgroups library returned no CPU stats")
	}
	return Stats{
		UsageNanos:       cpu.GetUsage().GetTotal(),
		Periods:          cpu.GetThrottling().GetPeriods(),
		ThrottledPeriods: cpu.GetThrottling().GetThrottledPeriods(),
		ThrottledNanos:   cpu.GetThrottling().GetThrottledTime(),
	}, nil
}
