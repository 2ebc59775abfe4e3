package policies

import (
	"fmt"
	"math"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// containerFacts gathers what the specs and the observation say about one
// container before it becomes an input object.
type containerFacts struct {
	id       string
	class    state.Class
	cpuset   string
	cpus     []int
	spec     *state.Resources
	observed *state.ContainerObservation
	// contenders maps each container of the other class whose CPUs overlap
	// this one's to the number of CPUs they share.
	contenders    map[string]int
	contendedCPUs int
}

// containersInput builds input.containers and input.classes, the index
// of container IDs by class that spares a policy a pass over every
// container to find the few of one class.
func containersInput(view *state.View, node string, obs state.Observation, cpus int) (containers, classes *ast.Term, err error) {
	facts, err := gatherFacts(view, node, obs, cpus)
	if err != nil {
		return nil, nil, err
	}
	findContenders(facts)
	out := ast.NewObjectWithCapacity(len(facts))
	byClass := map[state.Class][]*ast.Term{}
	for _, f := range facts {
		id := ast.StringTerm(f.id)
		out.Insert(id, f.term(obs.IntervalSeconds))
		byClass[f.class] = append(byClass[f.class], id)
	}
	index := ast.NewObjectWithCapacity(2)
	for _, class := range []state.Class{state.LatencyCritical, state.BestEffort} {
		index.Insert(ast.StringTerm(string(class)), ast.ArrayTerm(byClass[class]...))
	}
	return ast.NewTerm(out), ast.NewTerm(index), nil
}

// gatherFacts merges the specs of the node's apps with its observation,
// sorted by container ID.
func gatherFacts(view *state.View, node string, obs state.Observation, cpus int) ([]*containerFacts, error) {
	byID := map[string]*containerFacts{}
	for _, app := range view.AppsOn(node) {
		for i := range app.Containers {
			c := &app.Containers[i]
			id := state.ContainerID(app.Name, c.Name)
			byID[id] = &containerFacts{id: id, class: c.Class, cpuset: c.CPUSet, spec: &c.Resources}
		}
	}
	for i := range obs.Containers {
		c := &obs.Containers[i]
		f, ok := byID[c.ID]
		if !ok {
			// Observed but not (or no longer) specified: its class and
			// cpuset come from the sensors, which read them from labels.
			f = &containerFacts{id: c.ID, class: c.Class}
			byID[c.ID] = f
		}
		if c.CPUSet != "" {
			f.cpuset = c.CPUSet // what is in force beats what was asked for
		}
		f.observed = c
	}
	facts := make([]*containerFacts, 0, len(byID))
	for _, id := range state.SortedKeys(byID) {
		f := byID[id]
		list, err := cpuList(f.cpuset, cpus)
		if err != nil {
			return nil, fmt.Errorf("container %s: cpuset: %w", id, err)
		}
		f.cpus = list
		facts = append(facts, f)
	}
	return facts, nil
}

// cpuList expands a cpuset; the empty one is every CPU of the node.
func cpuList(cpuset string, cpus int) ([]int, error) {
	if cpuset == "" {
		all := make([]int, cpus)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	return state.ParseCPUSet(cpuset)
}

// findContenders pairs latency-critical and best-effort containers whose
// CPUs overlap. The engine does it, rather than the policy, because set
// algebra over CPU lists is cheap in Go and was most of the evaluation
// time in Rego. It is a fact about the node's layout and the two classes,
// not a decision.
func findContenders(facts []*containerFacts) {
	for _, f := range facts {
		f.contenders = map[string]int{}
	}
	for _, lc := range facts {
		if lc.class != state.LatencyCritical {
			continue
		}
		for _, be := range facts {
			if be.class != state.BestEffort {
				continue
			}
			if shared := countShared(lc.cpus, be.cpus); shared > 0 {
				lc.contenders[be.id] = shared
				be.contenders[lc.id] = shared
			}
		}
	}
	cpusOf := make(map[string][]int, len(facts))
	for _, f := range facts {
		cpusOf[f.id] = f.cpus
	}
	for _, f := range facts {
		f.contendedCPUs = countContended(f, cpusOf)
	}
}

// countContended counts the CPUs of f that one of its contenders may run on.
func countContended(f *containerFacts, cpusOf map[string][]int) int {
	contended := map[int]bool{}
	for id := range f.contenders {
		for _, cpu := range cpusOf[id] {
			contended[cpu] = true
		}
	}
	count := 0
	for _, cpu := range f.cpus {
		if contended[cpu] {
			count++
		}
	}
	return count
}

// countShared counts the CPUs two sorted CPU lists have in common.
func countShared(a, b []int) int {
	shared := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			shared++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return shared
}

func (f *containerFacts) term(intervalSeconds float64) *ast.Term {
	cpus := make([]*ast.Term, len(f.cpus))
	for i, cpu := range f.cpus {
		cpus[i] = ast.InternedTerm(cpu)
	}
	contenders := ast.NewObjectWithCapacity(len(f.contenders))
	for _, id := range state.SortedKeys(f.contenders) {
		contenders.Insert(ast.StringTerm(id), ast.InternedTerm(f.contenders[id]))
	}
	// Fields cost evaluation time on every tick, so the input carries what
	// a CPU policy needs; the app and name are the two halves of the ID.
	obj := ast.NewObjectWithCapacity(12)
	obj.Insert(key("class"), ast.StringTerm(string(f.class)))
	obj.Insert(key("cpus"), ast.ArrayTerm(cpus...))
	obj.Insert(key("contenders"), ast.NewTerm(contenders))
	obj.Insert(key("contended_cpus"), ast.InternedTerm(f.contendedCPUs))
	obj.Insert(key("observed"), ast.InternedTerm(f.observed != nil))
	obj.Insert(key("spec"), specTerm(f.spec))
	observedFields(obj, f.observed, intervalSeconds)
	return ast.NewTerm(obj)
}

// specTerm holds the spec's initial resources; unset ones are left out, so
// a policy tests for them with object.get.
func specTerm(r *state.Resources) *ast.Term {
	obj := ast.NewObjectWithCapacity(4)
	if r == nil {
		return ast.NewTerm(obj)
	}
	if r.CPUQuotaCores != nil {
		obj.Insert(key("cpu_quota_millicores"), millicores(*r.CPUQuotaCores))
	}
	if r.CPUShares != nil {
		obj.Insert(key("cpu_shares"), ast.NumberTerm(uint64Number(*r.CPUShares)))
	}
	if r.NetMbit != nil {
		obj.Insert(key("net_mbit"), ast.FloatNumberTerm(*r.NetMbit))
	}
	return ast.NewTerm(obj)
}

// observedFields are zero for a container the sensors have not seen, so a
// policy can do arithmetic on them without guarding every access. CPU
// amounts are rates in millicores; the work report's arrivals and service
// become rates too, so the policy never divides by the interval.
func observedFields(obj ast.Object, c *state.ContainerObservation, intervalSeconds float64) {
	var zero state.ContainerObservation
	if c == nil {
		c = &zero
	}
	obj.Insert(key("usage_millicores"), millicores(c.CPUUsageCores))
	obj.Insert(key("wait_millicores"), millicores(c.RunQueueWaitCores))
	obj.Insert(key("throttled_us"), ast.InternedTerm(int(math.Round(c.ThrottledSeconds*1e6))))
	if c.CPUQuotaCores != nil {
		obj.Insert(key("quota_millicores"), millicores(*c.CPUQuotaCores))
	}
	if c.Work != nil {
		perSecond := 0.0
		if intervalSeconds > 0 {
			perSecond = 1 / intervalSeconds
		}
		obj.Insert(key("work"), ast.ObjectTerm(
			ast.Item(key("arrived_millicores"), millicores(c.Work.Arrived*perSecond)),
			ast.Item(key("served_millicores"), millicores(c.Work.Served*perSecond)),
			ast.Item(key("backlog_cpu_ms"), millicores(c.Work.Backlog)),
		))
	}
}

// keyTerms are the object keys of the input, built once: keys make up
// most of the terms of an input, and they never change.
var keyTerms = func() map[string]*ast.Term {
	keys := map[string]*ast.Term{}
	for _, k := range []string{
		"class", "cpus", "contenders", "contended_cpus", "observed", "spec",
		"cpu_quota_millicores", "cpu_shares", "net_mbit",
		"usage_millicores", "wait_millicores", "throttled_us", "quota_millicores", "work",
		"arrived_millicores", "served_millicores", "backlog_cpu_ms",
	} {
		keys[k] = ast.StringTerm(k)
	}
	return keys
}()

// key returns the shared term of an input key; a key missing from
// keyTerms still works, it only costs an allocation.
func key(k string) *ast.Term {
	if term, ok := keyTerms[k]; ok {
		return term
	}
	return ast.StringTerm(k)
}
