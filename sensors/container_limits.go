package sensors

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// parseCPUSetFile checks a cpuset.cpus file and returns its list as is.
func parseCPUSetFile(content string) (string, error) {
	list := strings.TrimSpace(content)
	if list == "" {
		return "", nil
	}
	if _, err := state.ParseCPUSet(list); err != nil {
		return "", fmt.Errorf("cpuset.cpus: %w", err)
	}
	return list, nil
}
