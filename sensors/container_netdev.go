package sensors

import (
	"fmt"
	"strconv"
	"strings"
)

// parseNetDevInterface returns an interface's cumulative receive and
// transmit bytes from /proc/<pid>/net/dev. found is false when the
// namespace has no such interface (a container without a network).
func parseNetDevInterface(content, iface string) (rx, tx uint64, found bool, err error) {
	for _, line := range strings.Split(content, "\n") {
		name, counters, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != iface {
			continue
		}
		fields := strings.Fields(counters)
		if len(fields) < 16 {
			return 0, 0, false, fmt.Errorf("net/dev: %s has %d counters, want 16", iface, len(fields))
		}
		if rx, err = strconv.ParseUint(fields[0], 10, 64); err != nil {
			return 0, 0, false, fmt.Errorf("net/dev: %s receive bytes %q: %w", iface, fields[0], err)
		}
		if tx, err = strconv.ParseUint(fields[8], 10, 64); err != nil {
			return 0, 0, false, fmt.Errorf("net/dev: %s transmit bytes %q: %w", iface, fields[8], err)
		}
		return rx, tx, true, nil
	}
	return 0, 0, false, nil
}
