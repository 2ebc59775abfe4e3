package sensors

import (
	"fmt"
	"strconv"
	"strings"
)

// parseUint parses a file holding one unsigned number, such as
// cpuacct.usage or memory.current.
func parseUint(content string) (uint64, error) {
	value, err := strconv.ParseUint(strings.TrimSpace(content), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one unsigned number, got %q", strings.TrimSpace(content))
	}
	return value, nil
}

// parseFlatKeyed parses "key value" lines (cpu.stat), keeping the keys
// asked for; a missing key is not an error, since kernels differ.
func parseFlatKeyed(content string, keys ...string) (map[string]uint64, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	values := map[string]uint64{}
	for _, line := range strings.Split(content, "\n") {
		key, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !want[key] {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not an unsigned number", key, value)
		}
		values[key] = n
	}
	return values, nil
}
