package sensors

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"

	"github.com/sluice-io/sluice/state"
)

// HostConfig says where the host collector reads. Zero values take the
// defaults in brackets.
type HostConfig struct {
	// ProcRoot is the proc mount [/proc].
	ProcRoot string
	// SysRoot is the sysfs mount [/sys], used to tell disks from partitions.
	SysRoot string
}

// HostCollector reads the node's CPU, memory, network and disk counters
// through procfs and reports them as rates over the time between calls.
type HostCollector struct {
	proc   procfs.FS
	block  blockdevice.FS
	logger *slog.Logger
	primed bool
	last   hostCounters
	// lastTime is the clock reading of the previous Collect.
	lastTime time.Time
}

// hostCounters is one reading of the node's cumulative counters.
type hostCounters struct {
	cpus             int
	busySeconds      float64
	memoryTotalBytes int64
	memoryUsedBytes  int64
	netRx, netTx     uint64
	diskRead         uint64
	diskWrite        uint64
}

// NewHostCollector opens the proc and sys trees.
func NewHostCollector(config HostConfig, logger *slog.Logger) (*HostCollector, error) {
	if config.ProcRoot == "" {
		config.ProcRoot = "/proc"
	}
	if config.SysRoot == "" {
		config.SysRoot = "/sys"
	}
	proc, err := procfs.NewFS(config.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("host sensor: open %s: %w", config.ProcRoot, err)
	}
	block, err := blockdevice.NewFS(config.ProcRoot, config.SysRoot)
	if err != nil {
		return nil, fmt.Errorf("host sensor: open %s and %s: %w", config.ProcRoot, config.SysRoot, err)
	}
	return &HostCollector{proc: proc, block: block, logger: logger.With("sensor", "host")}, nil
}

// Collect reads the host and returns what happened since the previous
// call; the first call has no interval and reports no rates.
func (h *HostCollector) Collect(now time.Time) (state.HostObservation, error) {
	cur, err := h.read()
	if err != nil {
		return state.HostObservation{}, err
	}
	obs := state.HostObservation{
		CPUs:             cur.cpus,
		MemoryTotalBytes: cur.memoryTotalBytes,
		MemoryUsedBytes:  cur.memoryUsedBytes,
	}
	if h.primed {
		obs = withHostRates(obs, h.last, cur, now.Sub(h.lastTime).Seconds())
	}
	h.last, h.lastTime, h.primed = cur, now, true
	return obs, nil
}

func (h *HostCollector) read() (hostCounters, error) {
	var c hostCounters
	var err error
	if c.cpus, c.busySeconds, err = readHostCPU(h.proc); err != nil {
		return c, err
	}
	if c.memoryTotalBytes, c.memoryUsedBytes, err = readHostMemory(h.proc); err != nil {
		return c, err
	}
	if c.netRx, c.netTx, err = readHostNetwork(h.proc); err != nil {
		return c, err
	}
	if c.diskRead, c.diskWrite, err = readHostDisks(h.block); err != nil {
		return c, err
	}
	return c, nil
}

// withHostRates is the host's analyzer: busy CPU seconds per second of the
// interval, and bytes moved within it.
func withHostRates(obs state.HostObservation, prev, cur hostCounters, seconds float64) state.HostObservation {
	obs.NetRxBytes = counterDelta(prev.netRx, cur.netRx)
	obs.NetTxBytes = counterDelta(prev.netTx, cur.netTx)
	obs.DiskReadBytes = counterDelta(prev.diskRead, cur.diskRead)
	obs.DiskWriteBytes = counterDelta(prev.diskWrite, cur.diskWrite)
	if busy := cur.busySeconds - prev.busySeconds; seconds > 0 && busy > 0 {
		obs.CPUUsageCores = busy / seconds
	}
	return obs
}

// HostCapacity is what the node offers, for its registration: the CPUs in
// /proc/stat and the memory in /proc/meminfo.
func HostCapacity(procRoot string) (state.Capacity, error) {
	proc, err := procfs.NewFS(procRoot)
	if err != nil {
		return state.Capacity{}, fmt.Errorf("capacity: open %s: %w", procRoot, err)
	}
	cpus, _, err := readHostCPU(proc)
	if err != nil {
		return state.Capacity{}, fmt.Errorf("capacity: %w", err)
	}
	total, _, err := readHostMemory(proc)
	if err != nil {
		return state.Capacity{}, fmt.Errorf("capacity: %w", err)
	}
	return state.Capacity{CPUs: cpus, MemoryBytes: total}, nil
}
