package cgroup

import (
	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// cpuFiles lists, per version, the files CPU settings are read from, keyed
// by the controller they belong to.
func cpuFiles(v cgroupfs.Version) []File {
	if v == cgroupfs.V2 {
		return []File{{"cpu", "cpu.max"}, {"cpu", "cpu.weight"}, {"cpuset", "cpuset.cpus"}}
	}
	return []File{
		{"cpu", "cpu.cfs_quota_us"}, {"cpu", "cpu.cfs_period_us"},
		{"cpu", "cpu.shares"}, {"cpuset", "cpuset.cpus"},
	}
}

// parseCPU turns the contents of the files cpuFiles names (keyed by file
// name) into CPU settings. Shares are always reported; on v2 they are the
// shares equivalent of cpu.weight (see cgroupfs.ParseCPUWeight).
func parseCPU(v cgroupfs.Version, files map[string]string) (state.CPUResources, error) {
	var r state.CPUResources
	var err error
	quota, shares := files["cpu.cfs_quota_us"], files["cpu.shares"]
	if v == cgroupfs.V2 {
		quota, shares = files["cpu.max"], files["cpu.weight"]
	}
	if r.QuotaCores, err = cgroupfs.ParseQuota(v, quota, files["cpu.cfs_period_us"]); err != nil {
		return r, err
	}
	s, err := cgroupfs.ParseShares(v, shares)
	if err != nil {
		return r, err
	}
	r.Shares = &s
	r.CPUSet, err = cgroupfs.ParseCPUSet(files["cpuset.cpus"])
	return r, err
}
