package policies

import (
	"fmt"
	"math"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// Input builds the input document of a decision for node from view, as an
// OPA value. docs/policies.md documents its shape. It is built directly as
// an ast.Value, without a JSON round trip, because it is built on every
// tick for every node.
func Input(view *state.View, node string) (ast.Value, error) {
	return buildInput(view, node, nil)
}

// buildInput builds the input with the node's layout from cache, when the
// cache has it (nil: no cache).
func buildInput(view *state.View, node string, cache *layouts) (ast.Value, error) {
	obs, ok := view.Observations[node]
	if !ok {
		return nil, fmt.Errorf("input for node %s: %w", node, ErrNoObservation)
	}
	cpus := nodeCPUs(view, node)
	if cpus <= 0 {
		return nil, fmt.Errorf("input for node %s: CPU count unknown (no capacity.cpus in the node info, no host.cpus in the observation)", node)
	}
	sigs, observed := signatures(view, node, &obs)
	layout, err := cache.get(node, sigs, cpus)
	if err != nil {
		return nil, fmt.Errorf("input for node %s: %w", node, err)
	}
	items := [][2]*ast.Term{
		ast.Item(ast.StringTerm("node"), nodeInput(view, node, cpus)),
		ast.Item(ast.StringTerm("observation"), observationInput(obs)),
		ast.Item(ast.StringTerm("containers"), layout.containers(observed, obs.IntervalSeconds)),
		ast.Item(ast.StringTerm("classes"), layout.classes),
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
			ast.Item(ast.StringTerm("usage_millicores"), millicores(obs.Host.CPUUsageCores)),
		)),
	)
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
		obj.Insert(key("cpu_quota_millicores"), millicores(*c.CPUQuotaCores))
	}
	if c.CPUShares != nil {
		obj.Insert(key("cpu_shares"), ast.NumberTerm(uint64Number(*c.CPUShares)))
	}
	if c.NetMbit != nil {
		obj.Insert(key("net_mbit"), ast.FloatNumberTerm(*c.NetMbit))
	}
	return ast.NewTerm(obj)
}

// millicores is a CPU amount in whole thousandths of a core. The policy
// sees every CPU amount this way because OPA does integer arithmetic
// natively and decimal arithmetic through math/big, which made decimal
// cores most of a decision's cost. A thousandth of a core is 100 µs of a
// 100 ms CFS period, finer than any cap worth setting.
func millicores(cores float64) *ast.Term {
	return ast.InternedTerm(int(math.Round(cores * 1000)))
}
