package cgroup

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

// v1Controllers are the hierarchies the controller reads and writes on v1.
var v1Controllers = []string{"cpu", "cpuset"}

// DriverGroups returns where Docker puts the container with runtime ID id,
// in the order sluice tries them: the cgroupfs driver's /docker/<id>, then
// the systemd driver's /system.slice/docker-<id>.scope. Both drivers use
// the same relative path in every v1 hierarchy.
func DriverGroups(v cgroupfs.Version, id string) ([]cgroupfs.Group, error) {
	if id == "" || strings.ContainsAny(id, "/.") || strings.TrimSpace(id) != id {
		return nil, fmt.Errorf("runtime ID %q is not a container ID", id)
	}
	var groups []cgroupfs.Group
	for _, path := range []string{"/docker/" + id, "/system.slice/docker-" + id + ".scope"} {
		g := cgroupfs.Group{Version: v, Unified: path}
		if v == cgroupfs.V1 {
			g.Unified = ""
			g.Paths = map[string]string{}
			for _, controller := range v1Controllers {
				g.Paths[controller] = path
			}
		}
		groups = append(groups, g)
	}
	return groups, nil
}
