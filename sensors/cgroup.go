package sensors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CgroupMode is the cgroup layout of the node.
type CgroupMode int

const (
	// CgroupV1 has one hierarchy per controller (cpu, cpuacct, cpuset,
	// memory), possibly with a controller-less cgroup2 beside them.
	CgroupV1 CgroupMode = 1
	// CgroupV2 is the unified hierarchy mounted at the root.
	CgroupV2 CgroupMode = 2
)

func (m CgroupMode) String() string {
	if m == CgroupV2 {
		return "v2"
	}
	return "v1"
}

// DetectCgroupMode tells the layout under root: only a unified hierarchy
// has cgroup.controllers at its top.
func DetectCgroupMode(root string) CgroupMode {
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		return CgroupV2
	}
	return CgroupV1
}

// procCgroup is /proc/<pid>/cgroup: the path of the process in each v1
// controller's hierarchy, and in the unified one.
type procCgroup struct {
	v1      map[string]string
	unified string
	// hasUnified tells a "0::/" line apart from none at all.
	hasUnified bool
}

// parseProcCgroup parses lines of "hierarchy-id:controllers:path".
func parseProcCgroup(content string) (procCgroup, error) {
	pc := procCgroup{v1: map[string]string{}}
	for i, line := range strings.Split(strings.TrimSpace(content), "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") {
			return procCgroup{}, fmt.Errorf("line %d %q: want hierarchy-id:controllers:/path", i+1, line)
		}
		if parts[0] == "0" && parts[1] == "" {
			pc.unified, pc.hasUnified = parts[2], true
			continue
		}
		for _, controller := range strings.Split(parts[1], ",") {
			pc.v1[strings.TrimPrefix(controller, "name=")] = parts[2]
		}
	}
	return pc, nil
}

// cgroupDirs are the directories of one container's cgroup, one per
// controller the sensors read. On v2 they are all the same directory.
type cgroupDirs struct {
	mode    CgroupMode
	cpu     string
	cpuacct string
	cpuset  string
	memory  string
	// pressure holds cpu.pressure when the kernel keeps PSI for the
	// cgroup: the unified directory on v2, or on v1 a cgroup2 mounted at
	// <root>/unified where the runtime also placed the container.
	pressure string
}

// resolveCgroupDirs maps a process's cgroup membership to directories
// under root. A v1 controller lives at <root>/<controller>, which is also
// where systemd links co-mounted hierarchies such as cpu,cpuacct.
func resolveCgroupDirs(root string, mode CgroupMode, pc procCgroup) (cgroupDirs, error) {
	if mode == CgroupV2 {
		if !pc.hasUnified {
			return cgroupDirs{}, fmt.Errorf("no unified (0::) entry in the process's cgroup file")
		}
		dir := filepath.Join(root, pc.unified)
		return cgroupDirs{mode: mode, cpu: dir, cpuacct: dir, cpuset: dir, memory: dir, pressure: dir}, nil
	}
	dirs := cgroupDirs{mode: mode}
	for _, c := range []struct {
		name string
		into *string
	}{{"cpu", &dirs.cpu}, {"cpuacct", &dirs.cpuacct}, {"cpuset", &dirs.cpuset}, {"memory", &dirs.memory}} {
		path, ok := pc.v1[c.name]
		if !ok {
			return cgroupDirs{}, fmt.Errorf("process is in no %s cgroup", c.name)
		}
		*c.into = filepath.Join(root, c.name, path)
	}
	if pc.hasUnified && pc.unified != "/" {
		dirs.pressure = filepath.Join(root, "unified", pc.unified)
	}
	return dirs, nil
}
