package sensors

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

// containerFiles are the files of one container kept open between ticks.
// Optional ones are nil where the node does not have them.
type containerFiles struct {
	version cgroupfs.Version
	// usage is v1 cpuacct.usage; on v2 cpu.stat carries usage too.
	usage   *openFile
	cpuStat *openFile
	// quota is v1 cpu.cfs_quota_us (with period) or v2 cpu.max.
	quota  *openFile
	period *openFile
	// shares is v1 cpu.shares or v2 cpu.weight.
	shares   *openFile
	cpuset   *openFile
	memory   *openFile
	tasks    *openFile
	pressure *openFile
	netDev   *openFile
}

type fileSpec struct {
	into     **openFile
	path     string
	optional bool
	reopen   bool
}

func openContainerFiles(dirs cgroupDirs, procRoot string, pid int) (containerFiles, error) {
	files := containerFiles{version: dirs.version}
	for _, spec := range files.specs(dirs, procRoot, pid) {
		open := openKept
		if spec.reopen {
			open = openReopened
		}
		f, err := open(spec.path)
		if err == nil {
			*spec.into = f
			continue
		}
		if spec.optional && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		files.close()
		return containerFiles{}, fmt.Errorf("open %s: %w", spec.path, err)
	}
	return files, nil
}

func (f *containerFiles) specs(dirs cgroupDirs, procRoot string, pid int) []fileSpec {
	netDev := filepath.Join(procRoot, strconv.Itoa(pid), "net", "dev")
	if dirs.version == cgroupfs.V2 {
		return []fileSpec{
			{&f.cpuStat, filepath.Join(dirs.cpu, "cpu.stat"), false, false},
			{&f.quota, filepath.Join(dirs.cpu, "cpu.max"), true, false},
			{&f.shares, filepath.Join(dirs.cpu, "cpu.weight"), true, false},
			{&f.cpuset, filepath.Join(dirs.cpuset, "cpuset.cpus.effective"), true, false},
			{&f.memory, filepath.Join(dirs.memory, "memory.current"), true, false},
			{&f.tasks, filepath.Join(dirs.cpu, "cgroup.threads"), false, false},
			{&f.pressure, filepath.Join(dirs.pressure, "cpu.pressure"), true, false},
			{&f.netDev, netDev, true, false},
		}
	}
	specs := []fileSpec{
		{&f.usage, filepath.Join(dirs.cpuacct, "cpuacct.usage"), false, false},
		{&f.cpuStat, filepath.Join(dirs.cpu, "cpu.stat"), false, false},
		{&f.quota, filepath.Join(dirs.cpu, "cpu.cfs_quota_us"), false, false},
		{&f.period, filepath.Join(dirs.cpu, "cpu.cfs_period_us"), false, false},
		{&f.shares, filepath.Join(dirs.cpu, "cpu.shares"), false, false},
		{&f.cpuset, filepath.Join(dirs.cpuset, "cpuset.cpus"), true, false},
		{&f.memory, filepath.Join(dirs.memory, "memory.usage_in_bytes"), true, false},
		{&f.tasks, filepath.Join(dirs.cpu, "tasks"), false, true},
		{&f.netDev, netDev, true, false},
	}
	if dirs.pressure != "" {
		specs = append(specs, fileSpec{&f.pressure, filepath.Join(dirs.pressure, "cpu.pressure"), true, false})
	}
	return specs
}

// count is how many descriptors the container holds, for the docs' and
// the benchmark's accounting.
func (f *containerFiles) count() int {
	n := 0
	for _, file := range []*openFile{f.usage, f.cpuStat, f.quota, f.period, f.shares, f.cpuset, f.memory, f.tasks, f.pressure, f.netDev} {
		if file != nil && !file.reopen {
			n++
		}
	}
	return n
}

func (f *containerFiles) close() {
	for _, file := range []*openFile{f.usage, f.cpuStat, f.quota, f.period, f.shares, f.cpuset, f.memory, f.tasks, f.pressure, f.netDev} {
		file.close()
	}
}

// containerCounters is one reading of a container: cumulative counters
// and the settings in force.
type containerCounters struct {
	cpu            cgroupfs.CPUStat
	waitNanos      uint64
	pressureMicros uint64
	hasPressure    bool
	memoryBytes    int64
	netRx, netTx   uint64
	quotaCores     *float64
	shares         uint64
	cpuset         string
}

// readCgroup reads the cgroup files; thread waits and the network are read
// by the tracker.
func (f *containerFiles) readCgroup() (containerCounters, error) {
	var c containerCounters
	var err error
	if c.cpu, err = f.readCPU(); err != nil {
		return c, err
	}
	if c.quotaCores, c.shares, err = f.readCPULimits(); err != nil {
		return c, err
	}
	if f.cpuset != nil {
		content, err := f.cpuset.read()
		if err != nil {
			return c, err
		}
		if c.cpuset, err = cgroupfs.ParseCPUSet(content); err != nil {
			return c, fmt.Errorf("%s: %w", f.cpuset.path, err)
		}
	}
	if f.memory != nil {
		bytes, err := readUintFile(f.memory)
		if err != nil {
			return c, err
		}
		c.memoryBytes = int64(bytes)
	}
	if f.pressure != nil {
		content, err := f.pressure.read()
		if err != nil {
			return c, err
		}
		if c.pressureMicros, err = cgroupfs.ParsePressureSomeTotal(content); err != nil {
			return c, fmt.Errorf("%s: %w", f.pressure.path, err)
		}
		c.hasPressure = true
	}
	return c, nil
}

func (f *containerFiles) readCPU() (cgroupfs.CPUStat, error) {
	content, err := f.cpuStat.read()
	if err != nil {
		return cgroupfs.CPUStat{}, err
	}
	stat, err := cgroupfs.ParseCPUStat(f.version, content)
	if err != nil {
		return stat, fmt.Errorf("%s: %w", f.cpuStat.path, err)
	}
	if f.version == cgroupfs.V1 {
		stat.UsageNanos, err = readUintFile(f.usage)
	}
	return stat, err
}

func (f *containerFiles) readCPULimits() (*float64, uint64, error) {
	var quota *float64
	var shares uint64
	if f.quota != nil {
		content, err := f.quota.read()
		if err != nil {
			return nil, 0, err
		}
		var period string
		if f.period != nil {
			if period, err = f.period.read(); err != nil {
				return nil, 0, err
			}
		}
		if quota, err = cgroupfs.ParseQuota(f.version, content, period); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f.quota.path, err)
		}
	}
	if f.shares != nil {
		content, err := f.shares.read()
		if err != nil {
			return nil, 0, err
		}
		if shares, err = cgroupfs.ParseShares(f.version, content); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", f.shares.path, err)
		}
	}
	return quota, shares, nil
}

func readUintFile(f *openFile) (uint64, error) {
	content, err := f.read()
	if err != nil {
		return 0, err
	}
	value, err := cgroupfs.ParseUint(content)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", f.path, err)
	}
	return value, nil
}
