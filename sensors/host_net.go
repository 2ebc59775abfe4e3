package sensors

import (
	"fmt"

	"github.com/prometheus/procfs"
)

func readHostNetwork(proc procfs.FS) (rx, tx uint64, err error) {
	dev, err := proc.NetDev()
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/net/dev: %w", err)
	}
	rx, tx = networkTotals(dev)
	return rx, tx, nil
}

// networkTotals sums every interface but loopback, whose traffic never
// leaves the node.
func networkTotals(dev procfs.NetDev) (rx, tx uint64) {
	for name, line := range dev {
		if name == "lo" {
			continue
		}
		rx += line.RxBytes
		tx += line.TxBytes
	}
	return rx, tx
}
