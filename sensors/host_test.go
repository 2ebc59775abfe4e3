package sensors

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"
)

// hostTree is a node with two CPUs, one disk with a partition, a loop
// device and a network interface besides loopback. USER_HZ is 100, so
// /proc/stat counts hundredths of a second.
func hostTree(busyTicks, idleTicks, rx, tx, readSectors, writeSectors uint64) map[string]string {
	return map[string]string{
		"proc/stat": "cpu  " + itoa(busyTicks) + " 0 0 " + itoa(idleTicks) + " 0 0 0 0 0 0\n" +
			"cpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\n" +
			"intr 0\nctxt 0\nbtime 1700000000\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n",
		"proc/meminfo": "MemTotal:        4096000 kB\nMemFree:         1000000 kB\nMemAvailable:    3072000 kB\nBuffers:           10000 kB\nCached:           500000 kB\n",
		"proc/net/dev": "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n" +
			"    lo: 777777 1 0 0 0 0 0 0 777777 1 0 0 0 0 0 0\n  eth0: " + itoa(rx) + " 5 0 0 0 0 0 0 " + itoa(tx) + " 5 0 0 0 0 0 0\n",
		"proc/diskstats": " 254 0 vda 1 0 " + itoa(readSectors) + " 0 1 0 " + itoa(writeSectors) + " 0 0 0 0 0 0 0 0 0 0\n" +
			" 254 1 vda1 1 0 " + itoa(readSectors) + " 0 1 0 " + itoa(writeSectors) + " 0 0 0 0 0 0 0 0 0 0\n" +
			"   7 0 loop0 1 0 999 0 1 0 999 0 0 0 0 0 0 0 0 0 0\n",
		"sys/block/vda/stat":   "",
		"sys/block/loop0/stat": "",
	}
}

func TestHostCollector(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, hostTree(100, 1000, 1000, 2000, 10, 20))
	host, err := NewHostCollector(HostConfig{ProcRoot: filepath.Join(root, "proc"), SysRoot: filepath.Join(root, "sys")}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	first, err := host.Collect(t0)
	if err != nil {
		t.Fatal(err)
	}
	if first.CPUs != 2 || first.CPUUsageCores != 0 || first.MemoryTotalBytes != 4096000*1024 || first.MemoryUsedBytes != 1024000*1024 {
		t.Errorf("first = %+v; want 2 CPUs, no rate, 4096000 kB total, 1024000 kB used", first)
	}
	// Over 2 s: 300 ticks (3 s) busy = 1.5 cores; 4 sectors read, 6 written
	// on vda only (the partition and the loop device do not count again).
	writeTree(t, root, hostTree(400, 1100, 6000, 2500, 14, 26))
	got, err := host.Collect(t0.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !near(got.CPUUsageCores, 1.5) || got.NetRxBytes != 5000 || got.NetTxBytes != 500 || got.DiskReadBytes != 4*512 || got.DiskWriteBytes != 6*512 {
		t.Errorf("rates = %+v; want 1.5 cores, rx 5000, tx 500, read 2048, write 3072", got)
	}
}

func TestHostCapacity(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, hostTree(0, 0, 0, 0, 0, 0))
	capacity, err := HostCapacity(filepath.Join(root, "proc"))
	if err != nil || capacity.CPUs != 2 || capacity.MemoryBytes != 4096000*1024 {
		t.Errorf("capacity = %+v, %v; want 2 CPUs, 4096000 kB", capacity, err)
	}
	if _, err := HostCapacity(filepath.Join(root, "missing")); err == nil {
		t.Error("capacity of a missing proc tree had no error")
	}
}

func TestMemoryTotalUsedWithoutAvailable(t *testing.T) {
	total, free, buffers, cached := uint64(1000), uint64(100), uint64(50), uint64(250)
	gotTotal, used, err := memoryTotalUsed(procfs.Meminfo{MemTotalBytes: &total, MemFreeBytes: &free, BuffersBytes: &buffers, CachedBytes: &cached})
	if err != nil || gotTotal != 1000 || used != 600 {
		t.Errorf("total %d used %d err %v; want 1000, 600", gotTotal, used, err)
	}
	if _, _, err := memoryTotalUsed(procfs.Meminfo{}); err == nil {
		t.Error("meminfo without MemTotal accepted")
	}
}

func TestDiskTotals(t *testing.T) {
	stats := []blockdevice.Diskstats{
		{Info: blockdevice.Info{DeviceName: "sda"}, IOStats: blockdevice.IOStats{ReadSectors: 2, WriteSectors: 4}},
		{Info: blockdevice.Info{DeviceName: "sda1"}, IOStats: blockdevice.IOStats{ReadSectors: 2, WriteSectors: 4}},
		{Info: blockdevice.Info{DeviceName: "dm-0"}, IOStats: blockdevice.IOStats{ReadSectors: 2, WriteSectors: 4}},
		{Info: blockdevice.Info{DeviceName: "nvme0n1"}, IOStats: blockdevice.IOStats{ReadSectors: 1, WriteSectors: 1}},
	}
	read, write := diskTotals(stats, []string{"sda", "dm-0", "nvme0n1"})
	if read != 3*512 || write != 5*512 {
		t.Errorf("read %d write %d; want 1536, 2560", read, write)
	}
}
