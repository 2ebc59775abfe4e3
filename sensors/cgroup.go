package sensors

import (
	"path/filepath"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

// cgroupDirs are the directories of one container's cgroup, one per
// controller the sensors read. On v2 they are all the same directory.
type cgroupDirs struct {
	version cgroupfs.Version
	cpu     string
	cpuacct string
	cpuset  string
	memory  string
	// pressure holds cpu.pressure when the kernel keeps PSI for the
	// cgroup; empty when it has none (see pressureDir).
	pressure string
}

// groupDirs finds the directories of group g under root, in the same
// places the cgroup actuator writes to (cgroupfs.Group.Dir).
func groupDirs(root string, g cgroupfs.Group) (cgroupDirs, error) {
	dirs := cgroupDirs{version: g.Version}
	for _, c := range []struct {
		name string
		into *string
	}{{"cpu", &dirs.cpu}, {"cpuacct", &dirs.cpuacct}, {"cpuset", &dirs.cpuset}, {"memory", &dirs.memory}} {
		dir, err := g.Dir(root, c.name)
		if err != nil {
			return cgroupDirs{}, err
		}
		*c.into = dir
	}
	dirs.pressure = pressureDir(root, g, dirs.cpu)
	return dirs, nil
}

// pressureDir is where the group's cpu.pressure lives: its one directory
// on v2 (cpuDir); on v1 a cgroup2 mounted at <root>/unified, when the
// runtime also placed the container there. A v1 group whose unified path
// is the root has no PSI of its own, and the root's would be the host's.
func pressureDir(root string, g cgroupfs.Group, cpuDir string) string {
	switch {
	case g.Version == cgroupfs.V2:
		return cpuDir
	case g.Unified == "" || g.Unified == "/":
		return ""
	}
	return filepath.Join(root, "unified", g.Unified)
}
