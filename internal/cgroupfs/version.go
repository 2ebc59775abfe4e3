package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultRoot is where the cgroup hierarchies are mounted on a real node.
const DefaultRoot = "/sys/fs/cgroup"

// Version is the cgroup API a hierarchy speaks.
type Version int

const (
	// V1 is the legacy API: one hierarchy per controller, each mounted
	// under the root (cpu/, cpuacct/, cpuset/, memory/).
	V1 Version = 1
	// V2 is the unified API: one hierarchy holding every controller.
	V2 Version = 2
)

func (v Version) String() string {
	switch v {
	case V1:
		return "cgroup v1"
	case V2:
		return "cgroup v2"
	}
	return fmt.Sprintf("cgroup version %d", int(v))
}

// DetectVersion says which cgroup API the host's resource controllers
// speak, from the hierarchies mounted at DefaultRoot (see DetectVersionAt).
func DetectVersion() (Version, error) {
	if _, err := os.Stat(DefaultRoot); err != nil {
		return 0, fmt.Errorf("no cgroup hierarchy mounted at %s: %w", DefaultRoot, err)
	}
	return DetectVersionAt(DefaultRoot), nil
}

// DetectVersionAt says which cgroup API the hierarchies mounted at root
// speak: only a unified hierarchy has cgroup.controllers at its top, so a
// fixture tree mimics v2 by holding that file. A hybrid host (v1
// controllers plus an empty v2 hierarchy at <root>/unified, as systemd sets
// up) counts as v1, because that is where the cpu, cpuset and memory
// controllers are.
//
// The cgroups library's Mode answers the same question by the filesystem
// type at /sys/fs/cgroup only, so it cannot look at a fixture tree.
func DetectVersionAt(root string) Version {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return V2
	}
	return V1
}
