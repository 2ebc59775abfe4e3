package cpu

import (
	"fmt"
	"math"
)

// DefaultShares is the CFS weight of a container nobody set one for.
const DefaultShares = 1024

// maxConstraintSets bounds the work of one allocation. The model keeps one
// capacity constraint per union of the tasks' cpusets; a node with a few
// distinct cpusets has a handful, but 13 or more pairwise-different
// cpusets on a node of more than 12 CPUs could need thousands.
const maxConstraintSets = 1 << 12

// Task is one container's CPU situation for a tick.
type Task struct {
	// CPUs is the cpuset; zero means every CPU of the node.
	CPUs Mask
	// Shares is the CFS weight; zero means DefaultShares.
	Shares uint64
	// QuotaCores is the CFS quota over its period, in cores; zero means none.
	QuotaCores float64
	// Demand is the CPU the task would use over the tick on an idle node
	// with unlimited CPUs, in cores. It may exceed the cpuset's size (more
	// runnable threads than CPUs); the excess waits.
	Demand float64
}

// Limit names what held a task's usage where it ended up.
type Limit uint8

const (
	// LimitIdle: the task wanted no CPU.
	LimitIdle Limit = iota
	// LimitDemand: the task got all it wanted.
	LimitDemand
	// LimitQuota: the CFS quota stopped it; it was throttled.
	LimitQuota
	// LimitCPUSet: it wanted more cores than its cpuset has and got all of them.
	LimitCPUSet
	// LimitContention: its CPUs were all busy, shared by weight.
	LimitContention
)

var limitNames = [...]string{"idle", "demand", "quota", "cpuset", "contention"}

func (l Limit) String() string {
	if int(l) < len(limitNames) {
		return limitNames[l]
	}
	return fmt.Sprintf("limit(%d)", l)
}

// Share is what a task got over the tick.
type Share struct {
	// Usage is the CPU it ran, in cores (CPU-seconds per second).
	Usage float64
	// Wait is the time it was runnable but not running, per second: its
	// demand minus its usage. In a fluid model the unmet demand is exactly
	// the time spent queued.
	Wait float64
	// ThrottledFraction is the share of the tick the quota kept it off the
	// CPU; non-zero only when Limit is LimitQuota.
	ThrottledFraction float64
	Limit             Limit
}

// Allocate runs the model for one tick; see Allocator.Allocate.
func Allocate(cpus int, tasks []Task) ([]Share, error) {
	var a Allocator
	return a.Allocate(cpus, tasks, nil)
}

// CheckCPUSets reports whether the model can allocate among tasks with these
// cpusets on a node of cpus CPUs. The simulated node asks before it accepts
// a new cpuset, so that a tick never fails.
func CheckCPUSets(cpus int, masks []Mask) error {
	tasks := make([]Task, len(masks))
	for i, m := range masks {
		tasks[i] = Task{CPUs: m, Demand: 1}
	}
	if err := validate(cpus, tasks); err != nil {
		return err
	}
	var a Allocator
	a.prepare(cpus, tasks, nil)
	return a.buildSets()
}

// Allocator shares CPUs among tasks with weighted max-min fairness, the
// fluid limit of CFS. Its zero value is ready; it keeps scratch space
// between calls, so reuse one per node. It is not safe for concurrent use.
type Allocator struct {
	mask     []Mask
	weight   []float64
	ceiling  []float64 // min(demand, quota, |cpuset|)
	ceilWhy  []Limit   // which of the three the ceiling is
	usage    []float64
	limit    []Limit
	active   []bool
	taskSets [][]int   // the constraint sets that contain each task
	period   []uint8   // for throttle: where each task stands in the period
	budget   []float64 // for throttle: quota left in the period, in core-periods

	sets      []Mask
	setIndex  map[Mask]struct{}
	setFrozen []float64 // usage of the frozen tasks inside the set
	setWeight []float64 // weight of the active tasks inside the set
	setActive []int
}

// Allocate returns each task's share of the node's CPUs over one tick,
// reusing out's storage. The result is work-conserving weighted max-min
// fairness (water-filling): every task's usage rises in proportion to its
// shares until it reaches its demand, its quota or its cpuset's size, or
// until the CPUs it may use are all busy. A CPU runs at most one core's
// worth, and a cpuset is respected: the shares are feasible to place.
func (a *Allocator) Allocate(cpus int, tasks []Task, out []Share) ([]Share, error) {
	if err := validate(cpus, tasks); err != nil {
		return nil, err
	}
	out = growShares(out, len(tasks))
	a.prepare(cpus, tasks, nil)
	if err := a.fill(); err != nil {
		return nil, err
	}
	throttled := false
	for i, t := range tasks {
		out[i] = Share{Usage: a.usage[i], Wait: max(0, t.Demand-a.usage[i]), Limit: a.limit[i]}
		throttled = throttled || a.limit[i] == LimitQuota
	}
	if throttled {
		if err := a.throttle(cpus, tasks, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// throttle works out how long each quota-bound task sat throttled, by
// following one CFS period in phases. Such a task wants more than its
// quota, so work is always waiting for it: with its budget full at the
// start of the period it runs as fast as its cpuset and its neighbours let
// it, until the budget is spent; then it waits for the next period while
// the others share what it left. Each phase is one pass of the model and
// ends when the next budget runs out, so there is at most one pass per
// quota-bound task.
func (a *Allocator) throttle(cpus int, tasks []Task, out []Share) error {
	a.period = resize(a.period, len(tasks))
	a.budget = resize(a.budget, len(tasks))
	for i, t := range tasks {
		a.period[i], a.budget[i] = unbudgeted, 0
		if out[i].Limit == LimitQuota {
			a.period[i], a.budget[i] = spending, t.QuotaCores
		}
	}
	left := 1.0 // of the period
	for left > 0 {
		a.prepare(cpus, tasks, a.period)
		if err := a.fill(); err != nil {
			return err
		}
		phase := left
		for i, p := range a.period {
			if p == spending && a.usage[i] > 0 {
				phase = min(phase, a.budget[i]/a.usage[i])
			}
		}
		left -= phase
		if !a.spendBudgets(tasks, phase, left, out) {
			break
		}
	}
	return nil
}

// spendBudgets charges a phase to the budgets and marks the tasks whose
// budget ran out, throttled for the left of the period. It reports whether
// any ran out.
func (a *Allocator) spendBudgets(tasks []Task, phase, left float64, out []Share) bool {
	ranOut := false
	for i, p := range a.period {
		if p != spending {
			continue
		}
		a.budget[i] -= a.usage[i] * phase
		if a.budget[i] <= 1e-12*(1+tasks[i].QuotaCores) {
			a.period[i] = spent
			out[i].ThrottledFraction = max(0, left)
			ranOut = true
		}
	}
	return ranOut
}

// Where a task stands within a CFS period, for throttle.
const (
	unbudgeted uint8 = iota // no binding quota: runs as in the tick
	spending                // has budget left: always runnable, no cap
	spent                   // throttled until the period ends
)

func growShares(out []Share, n int) []Share {
	if cap(out) < n {
		return make([]Share, n)
	}
	return out[:n]
}

func validate(cpus int, tasks []Task) error {
	if cpus < 1 || cpus > MaxCPUs {
		return fmt.Errorf("node has %d CPUs: the model handles 1-%d", cpus, MaxCPUs)
	}
	all := AllCPUs(cpus)
	for i, t := range tasks {
		if !all.Contains(t.CPUs) {
			return fmt.Errorf("task %d: cpuset %s has CPUs outside the node's %s", i, t.CPUs, all)
		}
		if math.IsNaN(t.Demand) || math.IsInf(t.Demand, 0) || t.Demand < 0 {
			return fmt.Errorf("task %d: demand %g cores: must be a finite number ≥ 0", i, t.Demand)
		}
		if math.IsNaN(t.QuotaCores) || math.IsInf(t.QuotaCores, 0) || t.QuotaCores < 0 {
			return fmt.Errorf("task %d: quota %g cores: must be > 0, or 0 for none", i, t.QuotaCores)
		}
	}
	return nil
}

// prepare sizes the scratch space and computes each task's ceiling. period
// (nil outside throttle) replaces spending tasks by ones that want every
// CPU they may use and spent ones by idle ones.
func (a *Allocator) prepare(cpus int, tasks []Task, period []uint8) {
	n := len(tasks)
	a.mask = resize(a.mask, n)
	a.weight = resize(a.weight, n)
	a.ceiling = resize(a.ceiling, n)
	a.ceilWhy = resize(a.ceilWhy, n)
	a.usage = resize(a.usage, n)
	a.limit = resize(a.limit, n)
	a.active = resize(a.active, n)
	a.taskSets = resize(a.taskSets, n)
	all := AllCPUs(cpus)
	for i, t := range tasks {
		a.mask[i] = t.CPUs
		if t.CPUs == 0 {
			a.mask[i] = all
		}
		a.weight[i] = float64(t.Shares)
		if t.Shares == 0 {
			a.weight[i] = DefaultShares
		}
		if period != nil {
			t = inPeriod(t, period[i], a.mask[i].Count())
		}
		a.ceiling[i], a.ceilWhy[i] = ceiling(t, a.mask[i].Count())
		a.usage[i] = 0
		a.limit[i] = LimitIdle
		a.active[i] = a.ceiling[i] > 0
		a.taskSets[i] = a.taskSets[i][:0]
	}
}

func inPeriod(t Task, p uint8, cores int) Task {
	switch p {
	case spending:
		return Task{CPUs: t.CPUs, Shares: t.Shares, Demand: float64(cores)}
	case spent:
		return Task{CPUs: t.CPUs, Shares: t.Shares}
	}
	return t
}

func ceiling(t Task, cores int) (float64, Limit) {
	top, why := t.Demand, LimitDemand
	if float64(cores) < top {
		top, why = float64(cores), LimitCPUSet
	}
	if t.QuotaCores > 0 && t.QuotaCores < top {
		top, why = t.QuotaCores, LimitQuota
	}
	return top, why
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// buildSets collects the capacity constraints: by Hall's theorem the usages
// can be placed on CPUs iff, for every union U of cpusets, the tasks whose
// cpusets lie inside U use at most |U| cores. Unions of the cpusets of tasks
// that want CPU are the only sets that can bind.
func (a *Allocator) buildSets() error {
	a.sets = a.sets[:0]
	if a.setIndex == nil {
		a.setIndex = map[Mask]struct{}{}
	}
	clear(a.setIndex)
	for i, m := range a.mask {
		if a.active[i] {
			a.addSet(m)
		}
	}
	distinct := len(a.sets)
	for j := 0; j < len(a.sets); j++ {
		for d := range distinct {
			if union := a.sets[j] | a.sets[d]; union != a.sets[j] {
				a.addSet(union)
			}
		}
		if len(a.sets) > maxConstraintSets {
			return fmt.Errorf("%d distinct cpusets make more than %d CPU groups to balance: use fewer distinct cpusets", distinct, maxConstraintSets)
		}
	}
	return nil
}

func (a *Allocator) addSet(m Mask) {
	if _, ok := a.setIndex[m]; !ok {
		a.setIndex[m] = struct{}{}
		a.sets = append(a.sets, m)
	}
}

// fill is the water-filling: a level rises, every active task uses weight ×
// level, and a task freezes when it reaches its ceiling or when a
// constraint set it lies in becomes full. Each round freezes at least one
// task, so there are at most len(tasks) rounds.
func (a *Allocator) fill() error {
	if err := a.buildSets(); err != nil {
		return err
	}
	k := len(a.sets)
	a.setFrozen = resize(a.setFrozen, k)
	a.setWeight = resize(a.setWeight, k)
	a.setActive = resize(a.setActive, k)
	clear(a.setFrozen)
	clear(a.setWeight)
	clear(a.setActive)
	remaining := 0
	for i := range a.mask {
		if !a.active[i] {
			continue
		}
		remaining++
		for j, s := range a.sets {
			if s.Contains(a.mask[i]) {
				a.taskSets[i] = append(a.taskSets[i], j)
				a.setWeight[j] += a.weight[i]
				a.setActive[j]++
			}
		}
	}
	for remaining > 0 {
		level := a.nextLevel()
		remaining -= a.freezeAt(level)
	}
	return nil
}

// nextLevel is the lowest level at which some task reaches its ceiling or
// some constraint set fills up.
func (a *Allocator) nextLevel() float64 {
	level := math.Inf(1)
	for i, on := range a.active {
		if on {
			level = min(level, a.ceiling[i]/a.weight[i])
		}
	}
	for j := range a.sets {
		if a.setActive[j] > 0 {
			level = min(level, a.setLevel(j))
		}
	}
	return level
}

func (a *Allocator) setLevel(j int) float64 {
	free := max(0, float64(a.sets[j].Count())-a.setFrozen[j])
	return free / a.setWeight[j]
}

// freezeAt freezes every task that reached its ceiling at level, then every
// task in a set that is full at level, and returns how many froze.
func (a *Allocator) freezeAt(level float64) int {
	slack := level*1e-12 + 1e-15
	frozen := 0
	for i, on := range a.active {
		if on && a.ceiling[i]/a.weight[i] <= level+slack {
			a.freeze(i, a.ceiling[i], a.ceilWhy[i])
			frozen++
		}
	}
	for j, s := range a.sets {
		if a.setActive[j] == 0 || a.setLevel(j) > level+slack {
			continue
		}
		for i, on := range a.active {
			if on && s.Contains(a.mask[i]) {
				a.freeze(i, min(a.weight[i]*level, a.ceiling[i]), LimitContention)
				frozen++
			}
		}
	}
	return frozen
}

func (a *Allocator) freeze(i int, usage float64, why Limit) {
	a.active[i] = false
	a.usage[i] = usage
	a.limit[i] = why
	for _, j := range a.taskSets[i] {
		a.setFrozen[j] += usage
		a.setWeight[j] -= a.weight[i]
		a.setActive[j]--
	}
}
