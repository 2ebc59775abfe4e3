package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3"
)

// Group is where a container's cgroup lives: its path in each hierarchy,
// relative to that hierarchy's mount point, as /proc/<pid>/cgroup shows it.
// On v1 the paths can differ per controller (a process can sit in different
// groups of the cpu and memory hierarchies), so each is kept.
type Group struct {
	Version Version
	// Paths maps each v1 controller ("cpu", "cpuacct", "cpuset", "memory")
	// to the group's path in that controller's hierarchy.
	Paths map[string]string
	// Unified is the group's path in the v2 hierarchy.
	Unified string
}

// String names the group in errors: the unified path, or the cpu path on v1.
func (g Group) String() string {
	if g.Version == V2 {
		return g.Unified
	}
	return g.Paths["cpu"]
}

// Dir returns the directory under root holding controller's files.
func (g Group) Dir(root, controller string) (string, error) {
	path := g.Unified
	if g.Version != V2 {
		var ok bool
		if path, ok = g.Paths[controller]; !ok {
			return "", fmt.Errorf("group %s has no %s hierarchy", g, controller)
		}
	}
	if err := checkGroupPath(path); err != nil {
		return "", fmt.Errorf("%s group: %w", controller, err)
	}
	if g.Version == V2 {
		return filepath.Join(root, path), nil
	}
	return filepath.Join(root, controller, path), nil
}

// checkGroupPath refuses paths that could escape the hierarchy and the root
// group itself: an actuator that resolved a container to "/" would
// otherwise throttle the whole host, and a sensor would report the host's
// counters as the container's.
func checkGroupPath(path string) error {
	switch {
	case !strings.HasPrefix(path, "/") || filepath.Clean(path) != path:
		return fmt.Errorf("path %q is not a clean absolute cgroup path", path)
	case path == "/":
		return fmt.Errorf("refusing to act on the root cgroup")
	}
	return nil
}

// GroupOfPID reads the group of process pid from <procRoot>/<pid>/cgroup.
func GroupOfPID(procRoot string, v Version, pid int) (Group, error) {
	path := filepath.Join(procRoot, strconv.Itoa(pid), "cgroup")
	data, err := os.ReadFile(path)
	if err != nil {
		return Group{}, fmt.Errorf("cgroup of process %d: %w", pid, err)
	}
	g, err := GroupFromProcCgroup(v, string(data))
	if err != nil {
		return Group{}, fmt.Errorf("cgroup of process %d: parse %s: %w", pid, path, err)
	}
	return g, nil
}

// GroupFromProcCgroup reads the contents of /proc/<pid>/cgroup into a Group.
func GroupFromProcCgroup(v Version, content string) (Group, error) {
	legacy, unified, err := cgroups.ParseCgroupFromReaderUnified(strings.NewReader(content))
	if err != nil {
		return Group{}, err
	}
	if v == V2 {
		if unified == "" {
			return Group{}, fmt.Errorf("no cgroup v2 entry (0::/path)")
		}
		return Group{Version: V2, Unified: unified}, nil
	}
	paths := map[string]string{}
	for controller, path := range legacy {
		if !strings.HasPrefix(controller, "name=") {
			paths[controller] = path
		}
	}
	if _, ok := paths["cpu"]; !ok {
		return Group{}, fmt.Errorf("no cpu controller among the v1 entries")
	}
	return Group{Version: V1, Paths: paths, Unified: unified}, nil
}
