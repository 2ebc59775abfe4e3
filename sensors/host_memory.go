package sensors

import (
	"fmt"

	"github.com/prometheus/procfs"
)

func readHostMemory(proc procfs.FS) (totalBytes, usedBytes int64, err error) {
	info, err := proc.Meminfo()
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	return memoryTotalUsed(info)
}

// memoryTotalUsed counts as used what the kernel could not hand to a new
// process without swapping: total minus MemAvailable. Kernels before 3.14
// lack MemAvailable; free + buffers + cached approximates it there.
func memoryTotalUsed(info procfs.Meminfo) (totalBytes, usedBytes int64, err error) {
	if info.MemTotalBytes == nil {
		return 0, 0, fmt.Errorf("/proc/meminfo: no MemTotal line")
	}
	total := *info.MemTotalBytes
	var available uint64
	switch {
	case info.MemAvailableBytes != nil:
		available = *info.MemAvailableBytes
	case info.MemFreeBytes != nil:
		available = *info.MemFreeBytes + valueOr(info.BuffersBytes) + valueOr(info.CachedBytes)
	default:
		return 0, 0, fmt.Errorf("/proc/meminfo: neither MemAvailable nor MemFree")
	}
	return int64(total), int64(total - min(available, total)), nil
}

func valueOr(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
