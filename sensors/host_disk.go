package sensors

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/prometheus/procfs/blockdevice"
)

// sectorBytes is the unit of /proc/diskstats, whatever the device's own
// sector size.
const sectorBytes = 512

func readHostDisks(block blockdevice.FS) (readBytes, writeBytes uint64, err error) {
	stats, err := block.ProcDiskstats()
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/diskstats: %w", err)
	}
	disks, err := block.SysBlockDevices()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, 0, fmt.Errorf("list /sys/block: %w", err)
	}
	readBytes, writeBytes = diskTotals(stats, disks)
	return readBytes, writeBytes, nil
}

// diskTotals sums I/O on whole physical disks. Partitions are not in
// /sys/block, and loop, ram, zram, device-mapper and md devices sit on top
// of (or beside) real disks, so counting them would count bytes twice.
func diskTotals(stats []blockdevice.Diskstats, wholeDisks []string) (readBytes, writeBytes uint64) {
	isDisk := map[string]bool{}
	for _, name := range wholeDisks {
		isDisk[name] = !isVirtualDisk(name)
	}
	for _, s := range stats {
		if !isDisk[s.DeviceName] {
			continue
		}
		readBytes += s.ReadSectors * sectorBytes
		writeBytes += s.WriteSectors * sectorBytes
	}
	return readBytes, writeBytes
}

func isVirtualDisk(name string) bool {
	for _, prefix := range []string{"loop", "ram", "zram", "dm-", "md", "nbd"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
