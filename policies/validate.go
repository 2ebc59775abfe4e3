package policies

import (
	"errors"
	"fmt"
	"math"

	"github.com/sluice-io/sluice/state"
)

// Limits of cpu.shares (cgroup v1 and Docker); cgroup v2 weights are
// mapped from them.
const (
	MinCPUShares = 2
	MaxCPUShares = 262144
)

// Validate checks a decision for node before anything acts on it: it may
// name only containers known on the node (from the specs of its apps or
// from its latest observation), and every value must be within what the
// node can give. It reports every problem, each naming the container and
// the field.
func Validate(d state.Decision, view *state.View, node string) error {
	if d.Node != node {
		return fmt.Errorf("decision is for node %q, not %q", d.Node, node)
	}
	known := knownContainers(view, node)
	cpus := nodeCPUs(view, node)
	netMbit := view.Nodes[node].Capacity.NetMbit
	var problems []error
	for _, id := range state.SortedKeys(d.Containers) {
		if !known[id] {
			problems = append(problems, fmt.Errorf("container %s: not a container of node %s (neither specified for it nor observed on it)", id, node))
			continue
		}
		for _, err := range checkContainer(d.Containers[id], cpus, netMbit) {
			problems = append(problems, fmt.Errorf("container %s: %w", id, err))
		}
	}
	return errors.Join(problems...)
}

func checkContainer(c state.ContainerDecision, cpus int, netMbit float64) []error {
	var problems []error
	if q := c.CPUQuotaCores; q != nil && !(*q > 0 && *q <= float64(cpus)) {
		problems = append(problems, fmt.Errorf("cpu_quota_cores %g: must be in (0, %d], the node's CPUs", *q, cpus))
	}
	if s := c.CPUShares; s != nil && (*s < MinCPUShares || *s > MaxCPUShares) {
		problems = append(problems, fmt.Errorf("cpu_shares %d: must be in [%d, %d]", *s, MinCPUShares, MaxCPUShares))
	}
	if m := c.NetMbit; m != nil {
		switch {
		case !(*m > 0) || math.IsInf(*m, 0):
			problems = append(problems, fmt.Errorf("net_mbit %g: must be > 0", *m))
		case netMbit > 0 && *m > netMbit:
			problems = append(problems, fmt.Errorf("net_mbit %g: exceeds the node's %g Mbit/s", *m, netMbit))
		}
	}
	return problems
}

func knownContainers(view *state.View, node string) map[string]bool {
	known := map[string]bool{}
	for _, app := range view.AppsOn() {
		for _, c := range app.Containers {
			known[state.ContainerID(app.Name, c.Name)] = true
		}
	}
	for _, c := range view.Observations[node].Containers {
		known[c.ID] = true
	}
	return known
}
