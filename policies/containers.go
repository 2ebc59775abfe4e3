package policies

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/sluice-io/sluice/state"
)

// layout is the part of a node's input that depends only on its CPU count
// and its containers' identities, classes, cpusets and specs. Building it
// (cpusets expanded, contenders paired) was most of the cost of an input,
// and it changes only when a container comes, goes or is respecified, so
// an engine builds it once and reuses it (see layouts).
type layout struct {
	cpus       int
	signatures []containerSignature
	ids        []*ast.Term
	// fields holds, per container, its layout fields as object items.
	fields [][][2]*ast.Term
	// contenders holds, per container, the indexes of its contenders.
	contenders [][]int
	classes    *ast.Term
}

func newLayout(sigs []containerSignature, cpus int) (*layout, error) {
	facts, err := gatherFacts(sigs, cpus)
	if err != nil {
		return nil, err
	}
	findContenders(facts)
	l := &layout{
		cpus: cpus, signatures: sigs, ids: make([]*ast.Term, len(facts)),
		fields: make([][][2]*ast.Term, len(facts)), contenders: make([][]int, len(facts)),
	}
	index := make(map[string]int, len(facts))
	for i, f := range facts {
		index[f.id] = i
	}
	byClass := map[state.Class][]*ast.Term{}
	for i, f := range facts {
		l.ids[i] = ast.StringTerm(f.id)
		l.fields[i] = f.layoutFields()
		for _, id := range state.SortedKeys(f.contenders) {
			l.contenders[i] = append(l.contenders[i], index[id])
		}
		byClass[f.class] = append(byClass[f.class], l.ids[i])
	}
	// input.classes indexes container IDs by class, which spares a policy
	// a pass over every container to find the few of one class.
	classes := ast.NewObjectWithCapacity(2)
	for _, class := range []state.Class{state.LatencyCritical, state.BestEffort} {
		classes.Insert(ast.StringTerm(string(class)), ast.ArrayTerm(byClass[class]...))
	}
	l.classes = ast.NewTerm(classes)
	return l, nil
}

// containers builds input.containers: each container's layout fields, as
// built once, and its observed fields, built on every tick.
func (l *layout) containers(observed []*state.ContainerObservation, intervalSeconds float64) *ast.Term {
	overruns := make([]float64, len(l.ids))
	for i, c := range observed {
		overruns[i] = overrunCores(c)
	}
	out := ast.NewObjectWithCapacity(len(l.ids))
	for i, id := range l.ids {
		obj := ast.NewObjectWithCapacity(len(l.fields[i]) + 8)
		for _, item := range l.fields[i] {
			obj.Insert(item[0], item[1])
		}
		observedFields(obj, observed[i], intervalSeconds)
		obj.Insert(key("overrun_millicores"), millicores(overruns[i]))
		var contendersOverrun float64
		for _, at := range l.contenders[i] {
			contendersOverrun += overruns[at]
		}
		obj.Insert(key("contenders_overrun_millicores"), millicores(contendersOverrun))
		out.Insert(id, ast.NewTerm(obj))
	}
	return ast.NewTerm(out)
}

// overrunCores is what a container used beyond the quota in force over the
// interval. A kernel lets a capped group overrun its quota (it refills
// the quota when it is rewritten, and lets a running task finish its
// slice), so a policy that sets caps needs the overrun to keep what its
// neighbours use within what it meant to allow. The engine sums it over
// each container's contenders for the same reason it computes
// outside_millicores: it is cheap in Go and costly in Rego.
func overrunCores(c *state.ContainerObservation) float64 {
	if c == nil || c.CPUQuotaCores == nil {
		return 0
	}
	return max(0, c.CPUUsageCores-*c.CPUQuotaCores)
}

// layouts keeps each node's latest layout. Its terms are shared by the
// inputs of several evaluations, which OPA only reads.
type layouts struct {
	mu     sync.Mutex
	byNode map[string]*layout
}

// maxLayouts bounds the cache of an engine that decides for many nodes
// over its life; past it the cache starts afresh.
const maxLayouts = 256

func newLayouts() *layouts { return &layouts{byNode: map[string]*layout{}} }

// get returns the node's layout for these signatures, built anew when they
// changed. A nil cache builds every time.
func (c *layouts) get(node string, sigs []containerSignature, cpus int) (*layout, error) {
	if c != nil {
		c.mu.Lock()
		l := c.byNode[node]
		c.mu.Unlock()
		if l != nil && l.cpus == cpus && slices.Equal(l.signatures, sigs) {
			return l, nil
		}
	}
	l, err := newLayout(sigs, cpus)
	if err != nil || c == nil {
		return l, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byNode) >= maxLayouts {
		clear(c.byNode)
	}
	c.byNode[node] = l
	return l, nil
}

// containerFacts gathers what the specs and the observation say about one
// container before it becomes an input object.
type containerFacts struct {
	containerSignature
	cpus []int
	// contenders maps each container of the other class whose CPUs overlap
	// this one's to the number of CPUs they share.
	contenders    map[string]int
	contendedCPUs int
}

// containerSignature is everything the layout part of a container's input
// depends on: its identity, class, cpuset, the spec's resources and its
// latency SLO (sloP99Ms, 0 for none: a valid SLO is positive).
type containerSignature struct {
	id       string
	class    state.Class
	cpuset   string
	spec     specValues
	sloP99Ms float64
	observed bool
}

// specValues are the spec's resources the input shows, by value, so that
// signatures compare with ==.
type specValues struct {
	quotaCores          float64
	shares              uint64
	netMbit             float64
	hasQuota, hasShares bool
	hasNet              bool
}

func specValuesOf(r *state.Resources) specValues {
	var v specValues
	if r.CPUQuotaCores != nil {
		v.quotaCores, v.hasQuota = *r.CPUQuotaCores, true
	}
	if r.CPUShares != nil {
		v.shares, v.hasShares = *r.CPUShares, true
	}
	if r.NetMbit != nil {
		v.netMbit, v.hasNet = *r.NetMbit, true
	}
	return v
}

// signatures merges the specs of the node's apps with its observation,
// sorted by container ID, and returns with each its observation (nil when
// the sensors have not seen it).
func signatures(view *state.View, node string, obs *state.Observation) ([]containerSignature, []*state.ContainerObservation) {
	var sigs []containerSignature
	byID := map[string]int{}
	for _, app := range view.AppsOn() {
		for i := range app.Containers {
			c := &app.Containers[i]
			id := state.ContainerID(app.Name, c.Name)
			byID[id] = len(sigs)
			sigs = append(sigs, containerSignature{id: id, class: c.Class, cpuset: c.CPUSet, spec: specValuesOf(&c.Resources), sloP99Ms: sloP99Ms(c.SLO)})
		}
	}
	observed := make([]*state.ContainerObservation, len(sigs), len(sigs)+len(obs.Containers))
	for i := range obs.Containers {
		c := &obs.Containers[i]
		at, ok := byID[c.ID]
		if !ok {
			// Observed but not (or no longer) specified: its class and
			// cpuset come from the sensors, which read them from labels.
			at = len(sigs)
			byID[c.ID] = at
			sigs = append(sigs, containerSignature{id: c.ID, class: c.Class})
			observed = append(observed, nil)
		}
		if c.CPUSet != "" {
			sigs[at].cpuset = c.CPUSet // what is in force beats what was asked for
		}
		sigs[at].observed = true
		observed[at] = c
	}
	order := make([]int, len(sigs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return sigs[order[i]].id < sigs[order[j]].id })
	sortedSigs := make([]containerSignature, len(sigs))
	sortedObs := make([]*state.ContainerObservation, len(sigs))
	for i, at := range order {
		sortedSigs[i], sortedObs[i] = sigs[at], observed[at]
	}
	return sortedSigs, sortedObs
}

func sloP99Ms(slo *state.SLOSpec) float64 {
	if slo == nil {
		return 0
	}
	return slo.LatencyP99Ms
}

// gatherFacts expands the signatures' cpusets.
func gatherFacts(sigs []containerSignature, cpus int) ([]*containerFacts, error) {
	facts := make([]*containerFacts, len(sigs))
	for i, sig := range sigs {
		list, err := cpuList(sig.cpuset, cpus)
		if err != nil {
			return nil, fmt.Errorf("container %s: cpuset: %w", sig.id, err)
		}
		facts[i] = &containerFacts{containerSignature: sig, cpus: list}
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

// layoutFields are the container's input fields that come from the
// layout. Fields cost evaluation time on every tick, so the input carries
// what a CPU policy needs; the app and name are the two halves of the ID.
func (f *containerFacts) layoutFields() [][2]*ast.Term {
	cpus := make([]*ast.Term, len(f.cpus))
	for i, cpu := range f.cpus {
		cpus[i] = ast.InternedTerm(cpu)
	}
	ids := state.SortedKeys(f.contenders)
	contenders := ast.NewObjectWithCapacity(len(ids))
	// The CPU a contender leaves this container whatever it does: a cap
	// derived from that contender adds it back. The policy would otherwise
	// count, subtract and multiply for every pair on every tick.
	outside := ast.NewObjectWithCapacity(len(ids))
	for _, id := range ids {
		contenders.Insert(ast.StringTerm(id), ast.InternedTerm(f.contenders[id]))
		outside.Insert(ast.StringTerm(id), ast.InternedTerm((len(f.cpus)-f.contenders[id])*1000))
	}
	fields := [][2]*ast.Term{
		ast.Item(key("class"), ast.StringTerm(string(f.class))),
		ast.Item(key("cpus"), ast.ArrayTerm(cpus...)),
		ast.Item(key("contenders"), ast.NewTerm(contenders)),
		ast.Item(key("contended_cpus"), ast.InternedTerm(f.contendedCPUs)),
		ast.Item(key("outside_millicores"), ast.NewTerm(outside)),
		ast.Item(key("observed"), ast.InternedTerm(f.observed)),
		ast.Item(key("spec"), specTerm(f.spec)),
	}
	if f.sloP99Ms > 0 {
		fields = append(fields, ast.Item(key("slo"), ast.ObjectTerm(
			ast.Item(key("latency_p99_ms"), latencyMs(f.sloP99Ms)),
		)))
	}
	return fields
}

// specTerm holds the spec's initial resources; unset ones are left out, so
// a policy tests for them with object.get.
func specTerm(v specValues) *ast.Term {
	obj := ast.NewObjectWithCapacity(3)
	if v.hasQuota {
		obj.Insert(key("cpu_quota_millicores"), millicores(v.quotaCores))
	}
	if v.hasShares {
		obj.Insert(key("cpu_shares"), ast.NumberTerm(uint64Number(v.shares)))
	}
	if v.hasNet {
		obj.Insert(key("net_mbit"), ast.FloatNumberTerm(v.netMbit))
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
	if c.Latency != nil {
		obj.Insert(key("latency"), latencyTerm(c.Latency))
	}
}

// latencyTerm is the summary of a container's server spans over the
// interval, quantiles in milliseconds.
func latencyTerm(l *state.LatencyStats) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(key("count"), ast.NumberTerm(int64Number(l.Count))),
		ast.Item(key("errors"), ast.NumberTerm(int64Number(l.Errors))),
		ast.Item(key("p50_ms"), latencyMs(l.P50Ms)),
		ast.Item(key("p95_ms"), latencyMs(l.P95Ms)),
		ast.Item(key("p99_ms"), latencyMs(l.P99Ms)),
		ast.Item(key("max_ms"), latencyMs(l.MaxMs)),
	)
}

// latencyMs is a latency in milliseconds rounded to the microsecond: finer
// than any SLO, and a whole number of milliseconds stays an integer, which
// OPA compares without decimal arithmetic.
func latencyMs(ms float64) *ast.Term {
	micros := math.Round(ms * 1000)
	if math.Mod(micros, 1000) == 0 && math.Abs(micros) < 1e15 {
		return ast.InternedTerm(int(micros / 1000))
	}
	return ast.FloatNumberTerm(micros / 1000)
}

// keyTerms are the object keys of the input, built once: keys make up
// most of the terms of an input, and they never change.
var keyTerms = func() map[string]*ast.Term {
	keys := map[string]*ast.Term{}
	for _, k := range []string{
		"class", "cpus", "contenders", "contended_cpus", "outside_millicores", "observed", "spec",
		"cpu_quota_millicores", "cpu_shares", "net_mbit",
		"usage_millicores", "wait_millicores", "throttled_us", "quota_millicores", "overrun_millicores", "contenders_overrun_millicores", "work",
		"arrived_millicores", "served_millicores", "backlog_cpu_ms",
		"slo", "latency_p99_ms", "latency", "count", "errors", "p50_ms", "p95_ms", "p99_ms", "max_ms",
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
