package policies

import (
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// Input builds the input document of a decision for node from view, as an
// OPA value. docs/policies.md documents its shape. It is built directly as
// an ast.Value, without a JSON round trip, because it is built on every
// tick for every node.
func Input(view *state.View, node string) (ast.Value, error) {
	obs, ok := view.Observations[node]
	if !ok {
		return nil, fmt.Errorf("input for node %s: %w", node, ErrNoObservation)
	}
	cpus := nodeCPUs(view, node)
	if cpus <= 0 {
		return nil, fmt.Errorf("input for node %s: CPU count unknown (no capacity.cpus in the node info, no host.cpus in the observation)", node)
	}
	containers, err := containersInput(view, node, obs, cpus)
	if err != nil {
		return nil, fmt.Errorf("input for node %s: %w", node, err)
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("node"), nodeInput(view, node, cpus)),
		ast.Item(ast.StringTerm("observation"), observationInput(obs)),
		ast.Item(ast.StringTerm("containers"), containers),
	}
	if prev, ok := view.Decisions[node]; ok {
		previous, err := previousInput(prev)
		if err != nil {
			return nil, fmt.Errorf("input for node %s: previous decision: %w", node, err)
		}
		items = append(items, ast.Item(ast.StringTerm("previous"), previous))
	}
	return ast.NewObject(items...), nil
}

// nodeCPUs prefers the node's registered capacity and falls back on what
// its sensors saw, so a node whose registration lapsed still gets decisions.
func nodeCPUs(view *state.View, node string) int {
	if info, ok := view.Nodes[node]; ok && info.Capacity.CPUs > 0 {
		return info.Capacity.CPUs
	}
	return view.Observations[node].Host.CPUs
}

func nodeInput(view *state.View, node string, cpus int) *ast.Term {
	info := view.Nodes[node]
	labels := ast.NewObjectWithCapacity(len(info.Labels))
	for _, key := range state.SortedKeys(info.Labels) {
		labels.Insert(ast.StringTerm(key), ast.StringTerm(info.Labels[key]))
	}
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("name"), ast.StringTerm(node)),
		ast.Item(ast.StringTerm("cpus"), ast.IntNumberTerm(cpus)),
		ast.Item(ast.StringTerm("memory_bytes"), ast.NumberTerm(int64Number(info.Capacity.MemoryBytes))),
		ast.Item(ast.StringTerm("net_mbit"), ast.FloatNumberTerm(info.Capacity.NetMbit)),
		ast.Item(ast.StringTerm("labels"), ast.NewTerm(labels)),
	)
}

func observationInput(obs state.Observation) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("time"), ast.StringTerm(obs.Time.UTC().Format(time.RFC3339Nano))),
		ast.Item(ast.StringTerm("interval_seconds"), ast.FloatNumberTerm(obs.IntervalSeconds)),
		ast.Item(ast.StringTerm("host"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("cpus"), ast.IntNumberTerm(obs.Host.CPUs)),
			ast.Item(ast.StringTerm("cpu_usage_cores"), ast.FloatNumberTerm(obs.Host.CPUUsageCores)),
		)),
	)
}

// containerFacts gathers what the specs and the observation say about one
// container before it becomes an input object.
type containerFacts struct {
	app, name string
	class     state.Class
	cpuset    string
	spec      *state.Resources
	observed  *state.ContainerObservation
}

func containersInput(view *state.View, node string, obs state.Observation, cpus int) (*ast.Term, error) {
	facts := map[string]*containerFacts{}
	for _, app := range view.AppsOn(node) {
		for i := range app.Containers {
			c := &app.Containers[i]
			facts[state.ContainerID(app.Name, c.Name)] = &containerFacts{
				app: app.Name, name: c.Name, class: c.Class, cpuset: c.CPUSet, spec: &c.Resources,
			}
		}
	}
	for i := range obs.Containers {
		c := &obs.Containers[i]
		f, ok := facts[c.ID]
		if !ok {
			// Observed but not (or no longer) specified: its class and
			// cpuset come from the sensors, which read them from labels.
			f = &containerFacts{app: c.App, name: c.Name, class: c.Class}
			facts[c.ID] = f
		}
		if c.CPUSet != "" {
			f.cpuset = c.CPUSet // what is in force beats what was asked for
		}
		f.observed = c
	}
	allCPUs := allCPUsTerm(cpus)
	out := ast.NewObjectWithCapacity(len(facts))
	for _, id := range state.SortedKeys(facts) {
		term, err := facts[id].term(allCPUs)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", id, err)
		}
		out.Insert(ast.StringTerm(id), term)
	}
	return ast.NewTerm(out), nil
}

func allCPUsTerm(cpus int) *ast.Term {
	terms := make([]*ast.Term, cpus)
	for i := range terms {
		terms[i] = ast.IntNumberTerm(i)
	}
	return ast.ArrayTerm(terms...)
}

func (f *containerFacts) term(allCPUs *ast.Term) (*ast.Term, error) {
	cpus := allCPUs
	if f.cpuset != "" {
		list, err := state.ParseCPUSet(f.cpuset)
		if err != nil {
			return nil, fmt.Errorf("cpuset: %w", err)
		}
		terms := make([]*ast.Term, len(list))
		for i, cpu := range list {
			terms[i] = ast.IntNumberTerm(cpu)
		}
		cpus = ast.ArrayTerm(terms...)
	}
	obj := ast.NewObjectWithCapacity(16)
	obj.Insert(ast.StringTerm("app"), ast.StringTerm(f.app))
	obj.Insert(ast.StringTerm("name"), ast.StringTerm(f.name))
	obj.Insert(ast.StringTerm("class"), ast.StringTerm(string(f.class)))
	obj.Insert(ast.StringTerm("cpuset"), ast.StringTerm(f.cpuset))
	obj.Insert(ast.StringTerm("cpus"), cpus)
	obj.Insert(ast.StringTerm("in_spec"), ast.BooleanTerm(f.spec != nil))
	obj.Insert(ast.StringTerm("observed"), ast.BooleanTerm(f.observed != nil))
	obj.Insert(ast.StringTerm("spec"), specTerm(f.spec))
	observedFields(obj, f.observed)
	return ast.NewTerm(obj), nil
}

// specTerm holds the spec's initial resources; unset ones are left out, so
// a policy tests for them with object.get.
func specTerm(r *state.Resources) *ast.Term {
	obj := ast.NewObjectWithCapacity(4)
	if r == nil {
		return ast.NewTerm(obj)
	}
	if r.CPUQuotaCores != nil {
		obj.Insert(ast.StringTerm("cpu_quota_cores"), ast.FloatNumberTerm(*r.CPUQuotaCores))
	}
	if r.CPUShares != nil {
		obj.Insert(ast.StringTerm("cpu_shares"), ast.NumberTerm(uint64Number(*r.CPUShares)))
	}
	if r.MemoryBytes != nil {
		obj.Insert(ast.StringTerm("memory_bytes"), ast.NumberTerm(int64Number(*r.MemoryBytes)))
	}
	if r.NetMbit != nil {
		obj.Insert(ast.StringTerm("net_mbit"), ast.FloatNumberTerm(*r.NetMbit))
	}
	return ast.NewTerm(obj)
}

// observedFields are zero for a container the sensors have not seen, so a
// policy can do arithmetic on them without guarding every access.
func observedFields(obj ast.Object, c *state.ContainerObservation) {
	var zero state.ContainerObservation
	if c == nil {
		c = &zero
	}
	obj.Insert(ast.StringTerm("usage_cores"), ast.FloatNumberTerm(c.CPUUsageCores))
	obj.Insert(ast.StringTerm("wait_cores"), ast.FloatNumberTerm(c.RunQueueWaitCores))
	obj.Insert(ast.StringTerm("throttled_seconds"), ast.FloatNumberTerm(c.ThrottledSeconds))
	obj.Insert(ast.StringTerm("shares"), ast.NumberTerm(uint64Number(c.CPUShares)))
	obj.Insert(ast.StringTerm("memory_bytes"), ast.NumberTerm(int64Number(c.MemoryBytes)))
	if c.CPUQuotaCores != nil {
		obj.Insert(ast.StringTerm("quota_cores"), ast.FloatNumberTerm(*c.CPUQuotaCores))
	}
	if c.Work != nil {
		obj.Insert(ast.StringTerm("work"), ast.ObjectTerm(
			ast.Item(ast.StringTerm("arrived"), ast.FloatNumberTerm(c.Work.Arrived)),
			ast.Item(ast.StringTerm("served"), ast.FloatNumberTerm(c.Work.Served)),
			ast.Item(ast.StringTerm("backlog"), ast.FloatNumberTerm(c.Work.Backlog)),
		))
	}
}

func previousInput(d state.Decision) (*ast.Term, error) {
	containers := ast.NewObjectWithCapacity(len(d.Containers))
	for _, id := range state.SortedKeys(d.Containers) {
		containers.Insert(ast.StringTerm(id), containerDecisionTerm(d.Containers[id]))
	}
	carry, err := ast.InterfaceToValue(d.Carry)
	if err != nil {
		return nil, fmt.Errorf("carry: %w", err)
	}
	if d.Carry == nil {
		carry = ast.NewObject()
	}
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("revision"), ast.NumberTerm(int64Number(d.Revision))),
		ast.Item(ast.StringTerm("time"), ast.StringTerm(d.Time.UTC().Format(time.RFC3339Nano))),
		ast.Item(ast.StringTerm("bundle_digest"), ast.StringTerm(d.BundleDigest)),
		ast.Item(ast.StringTerm("containers"), ast.NewTerm(containers)),
		ast.Item(ast.StringTerm("carry"), ast.NewTerm(carry)),
	), nil
}

func containerDecisionTerm(c state.ContainerDecision) *ast.Term {
	obj := ast.NewObjectWithCapacity(3)
	if c.CPUQuotaCores != nil {
		obj.Insert(ast.StringTerm("cpu_quota_cores"), ast.FloatNumberTerm(*c.CPUQuotaCores))
	}
	if c.CPUShares != nil {
		obj.Insert(ast.StringTerm("cpu_shares"), ast.NumberTerm(uint64Number(*c.CPUShares)))
	}
	if c.NetMbit != nil {
		obj.Insert(ast.StringTerm("net_mbit"), ast.FloatNumberTerm(*c.NetMbit))
	}
	return ast.NewTerm(obj)
}
