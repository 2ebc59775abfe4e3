package sensors

import (
	"fmt"

	"github.com/prometheus/procfs"
)

func readHostCPU(proc procfs.FS) (cpus int, busySeconds float64, err error) {
	stat, err := proc.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	return len(stat.CPU), cpuBusySeconds(stat.CPUTotal), nil
}

// cpuBusySeconds is the time the CPUs did anything but idle or wait for
// I/O. Guest time is already part of user time in /proc/stat, so it is not
// added again.
func cpuBusySeconds(s procfs.CPUStat) float64 {
	return s.User + s.Nice + s.System + s.IRQ + s.SoftIRQ + s.Steal
}
