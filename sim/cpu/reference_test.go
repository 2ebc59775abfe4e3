package cpu

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
)

// The model is checked against two naive versions that share none of its
// code: progressive filling in tiny increments with a brute-force
// feasibility test over every subset of CPUs, and a time-sliced scheduler
// on one CPU that picks the lowest virtual runtime and enforces quota
// budgets period by period, as CFS does.

// scenario is a random node for testing/quick: few CPUs and tasks, values
// rounded to hundredths so that ties (the hard cases) come up often.
type scenario struct {
	CPUs  int
	Tasks []Task
}

var testShares = []uint64{256, 512, 1024, 1024, 2048}

func (scenario) Generate(r *rand.Rand, _ int) reflect.Value {
	s := scenario{CPUs: 1 + r.Intn(4)}
	for range 1 + r.Intn(6) {
		s.Tasks = append(s.Tasks, randomTask(r, s.CPUs))
	}
	return reflect.ValueOf(s)
}

func randomTask(r *rand.Rand, cpus int) Task {
	t := Task{Shares: testShares[r.Intn(len(testShares))]}
	if r.Intn(3) > 0 {
		t.CPUs = Mask(1 + r.Intn(int(AllCPUs(cpus))))
	}
	if r.Intn(3) == 0 {
		t.QuotaCores = hundredths(0.05 + 2*r.Float64())
	}
	switch r.Intn(6) {
	case 0:
		t.Demand = 0
	case 1:
		t.Demand = 3
	default:
		t.Demand = hundredths(2 * r.Float64())
	}
	return t
}

func hundredths(x float64) float64 { return math.Round(x*100) / 100 }

func (s scenario) String() string { return fmt.Sprintf("%d CPUs %+v", s.CPUs, s.Tasks) }

// referenceFill hands out CPU in steps of at most step, each time to the
// task with the least usage per share that can still take more. A task can
// take more while it is under its demand, quota and cpuset size and while
// every set of CPUs containing its cpuset has room: Hall's condition, here
// checked on all 2^cpus subsets.
func referenceFill(cpus int, tasks []Task, step float64) []float64 {
	n := len(tasks)
	mask := make([]Mask, n)
	weight := make([]float64, n)
	top := make([]float64, n)
	for i, t := range tasks {
		mask[i] = t.CPUs
		if mask[i] == 0 {
			mask[i] = AllCPUs(cpus)
		}
		weight[i] = float64(t.Shares)
		top[i] = math.Min(t.Demand, float64(bits.OnesCount64(uint64(mask[i]))))
		if t.QuotaCores > 0 {
			top[i] = math.Min(top[i], t.QuotaCores)
		}
	}
	load := make([]float64, 1<<cpus) // usage of the tasks that lie inside each subset
	usage := make([]float64, n)
	blocked := make([]bool, n)
	for {
		next := -1
		for i := range n {
			if !blocked[i] && (next < 0 || usage[i]/weight[i] < usage[next]/weight[next]) {
				next = i
			}
		}
		if next < 0 {
			return usage
		}
		room := top[next] - usage[next]
		for set := range load {
			if Mask(set).Contains(mask[next]) {
				room = math.Min(room, float64(bits.OnesCount(uint(set)))-load[set])
			}
		}
		if room <= 1e-12 {
			blocked[next] = true
			continue
		}
		add := math.Min(step, room)
		usage[next] += add
		for set := range load {
			if Mask(set).Contains(mask[next]) {
				load[set] += add
			}
		}
	}
}

func quickConfig(count int) *quick.Config {
	return &quick.Config{MaxCount: count, Rand: rand.New(rand.NewSource(7))}
}

func TestModelAgreesWithProgressiveFilling(t *testing.T) {
	const step = 2e-5
	agrees := func(s scenario) bool {
		got, err := Allocate(s.CPUs, s.Tasks)
		if err != nil {
			t.Logf("%v: %v", s, err)
			return false
		}
		want := referenceFill(s.CPUs, s.Tasks, step)
		// The reference overshoots a task by one step per competitor,
		// scaled by how far apart the weights are.
		tolerance := 2 * float64(len(s.Tasks)) * step * 8
		for i := range want {
			if math.Abs(got[i].Usage-want[i]) > tolerance {
				t.Logf("%v: task %d usage %.5f, reference %.5f", s, i, got[i].Usage, want[i])
				return false
			}
		}
		return true
	}
	if err := quick.Check(agrees, quickConfig(150)); err != nil {
		t.Fatal(err)
	}
}

func TestModelRespectsCapacityQuotaAndCPUSets(t *testing.T) {
	bounded := func(s scenario) bool {
		got, err := Allocate(s.CPUs, s.Tasks)
		if err != nil {
			t.Logf("%v: %v", s, err)
			return false
		}
		for i, task := range s.Tasks {
			if msg := checkBounds(s.CPUs, task, got[i]); msg != "" {
				t.Logf("%v: task %d: %s", s, i, msg)
				return false
			}
		}
		// A placement with at most one core's worth on every CPU exists iff
		// no set of CPUs holds more usage than it has CPUs (Hall).
		for set := Mask(1); set <= AllCPUs(s.CPUs); set++ {
			if inside := usageInside(s, got, set); inside > float64(set.Count())+eps {
				t.Logf("%v: CPUs %s carry %.6f cores", s, set, inside)
				return false
			}
		}
		return true
	}
	if err := quick.Check(bounded, quickConfig(500)); err != nil {
		t.Fatal(err)
	}
}

func checkBounds(cpus int, task Task, got Share) string {
	cores := task.CPUs.Count()
	if task.CPUs == 0 {
		cores = cpus
	}
	switch {
	case got.Usage < -eps:
		return fmt.Sprintf("negative usage %g", got.Usage)
	case got.Usage > task.Demand+eps:
		return fmt.Sprintf("usage %g above demand", got.Usage)
	case task.QuotaCores > 0 && got.Usage > task.QuotaCores+eps:
		return fmt.Sprintf("usage %g above quota %g", got.Usage, task.QuotaCores)
	case got.Usage > float64(cores)+eps:
		return fmt.Sprintf("usage %g above its %d CPUs", got.Usage, cores)
	case math.Abs(got.Wait-(task.Demand-got.Usage)) > eps:
		return fmt.Sprintf("wait %g is not demand − usage", got.Wait)
	case got.ThrottledFraction < 0 || got.ThrottledFraction >= 1:
		return fmt.Sprintf("throttled fraction %g outside [0, 1)", got.ThrottledFraction)
	case got.ThrottledFraction > 0 && got.Limit != LimitQuota:
		return fmt.Sprintf("throttled %g but limited by %s", got.ThrottledFraction, got.Limit)
	}
	return ""
}

func usageInside(s scenario, got []Share, set Mask) float64 {
	var sum float64
	for i, task := range s.Tasks {
		m := task.CPUs
		if m == 0 {
			m = AllCPUs(s.CPUs)
		}
		if set.Contains(m) {
			sum += got[i].Usage
		}
	}
	return sum
}

func TestModelIsWorkConserving(t *testing.T) {
	conserving := func(s scenario) bool {
		got, err := Allocate(s.CPUs, s.Tasks)
		if err != nil {
			t.Logf("%v: %v", s, err)
			return false
		}
		for i, task := range s.Tasks {
			if !wantsMore(s.CPUs, task, got[i]) {
				continue
			}
			// It is short of its ceiling, so every CPU it may use must be
			// busy: some set of CPUs around its cpuset is full.
			if !someFullSetAround(s, got, task.CPUs) {
				t.Logf("%v: task %d gets %.6f of %.2f while one of its CPUs idles", s, i, got[i].Usage, task.Demand)
				return false
			}
			if got[i].Limit != LimitContention {
				t.Logf("%v: task %d short of its ceiling but limited by %s", s, i, got[i].Limit)
				return false
			}
		}
		return true
	}
	if err := quick.Check(conserving, quickConfig(500)); err != nil {
		t.Fatal(err)
	}
}

func wantsMore(cpus int, task Task, got Share) bool {
	cores := task.CPUs.Count()
	if task.CPUs == 0 {
		cores = cpus
	}
	ceiling := math.Min(task.Demand, float64(cores))
	if task.QuotaCores > 0 {
		ceiling = math.Min(ceiling, task.QuotaCores)
	}
	return got.Usage < ceiling-1e-7
}

func someFullSetAround(s scenario, got []Share, cpus Mask) bool {
	if cpus == 0 {
		cpus = AllCPUs(s.CPUs)
	}
	for set := Mask(1); set <= AllCPUs(s.CPUs); set++ {
		if set.Contains(cpus) && usageInside(s, got, set) >= float64(set.Count())-1e-7 {
			return true
		}
	}
	return false
}

// sliceResult is what sliceSchedule measured, per task, over the run.
type sliceResult struct {
	usage     []float64 // cores
	throttled []float64 // fraction of the run
}

// wakeBonus is how far behind the queue's minimum virtual runtime a task
// that becomes runnable may start, so that a sleeper or a throttled task
// cannot bank unbounded credit. CFS grants up to half its scheduling
// latency (3 ms); the fluid model has no such credit, so the reference
// grants none either. With 3 ms, a throttled task spends its budget a few
// milliseconds sooner each period and its throttled time rises by a few
// percent.
const wakeBonus = 0

// slicer runs tasks on one CPU in fixed slices. Work arrives at each task's
// demand; the CPU goes to the runnable task with the lowest virtual runtime
// (runtime / weight), which is how CFS orders its run queue; a task with a
// quota gets quota × period seconds per period and is throttled once they
// are spent until the next period begins.
type slicer struct {
	tasks       []Task
	pending     []float64
	budget      []float64
	vruntime    []float64
	wasRunnable []bool
	minVruntime float64
	res         sliceResult
}

func sliceSchedule(tasks []Task, seconds, slice, period float64) sliceResult {
	n := len(tasks)
	s := slicer{
		tasks: tasks, pending: make([]float64, n), budget: make([]float64, n),
		vruntime: make([]float64, n), wasRunnable: make([]bool, n),
		res: sliceResult{usage: make([]float64, n), throttled: make([]float64, n)},
	}
	slicesPerPeriod := int(math.Round(period / slice))
	for k := range int(math.Round(seconds / slice)) {
		for i, t := range tasks {
			if k%slicesPerPeriod == 0 {
				s.budget[i] = t.QuotaCores * period
			}
			s.pending[i] += t.Demand * slice
		}
		s.run(slice)
	}
	for i := range n {
		s.res.usage[i] /= seconds
		s.res.throttled[i] /= seconds
	}
	return s.res
}

const tiny = 1e-12

func (s *slicer) limited(i int) bool { return s.tasks[i].QuotaCores > 0 }

func (s *slicer) runnable(i int) bool {
	return s.pending[i] > tiny && (!s.limited(i) || s.budget[i] > tiny)
}

func (s *slicer) run(slice float64) {
	for i := range s.tasks {
		if s.limited(i) && s.budget[i] <= tiny && s.pending[i] > tiny {
			s.res.throttled[i] += slice
		}
		if s.runnable(i) && !s.wasRunnable[i] {
			s.vruntime[i] = math.Max(s.vruntime[i], s.minVruntime-wakeBonus)
		}
	}
	left := slice
	for left > tiny {
		next := -1
		for i := range s.tasks {
			if s.runnable(i) && (next < 0 || s.vruntime[i] < s.vruntime[next]) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		s.minVruntime = math.Max(s.minVruntime, s.vruntime[next])
		left -= s.runFor(next, left)
	}
	for i := range s.tasks {
		s.wasRunnable[i] = s.runnable(i)
	}
}

func (s *slicer) runFor(i int, left float64) float64 {
	run := math.Min(left, s.pending[i])
	if s.limited(i) {
		run = math.Min(run, s.budget[i])
	}
	s.pending[i] -= run
	s.budget[i] -= run
	s.vruntime[i] += run * DefaultShares / float64(s.tasks[i].Shares)
	s.res.usage[i] += run
	if s.limited(i) && s.budget[i] <= tiny && s.pending[i] > tiny {
		s.res.throttled[i] += left - run
	}
	return run
}

// oneCPU is a scenario on a single CPU with steady demands.
type oneCPU struct{ Tasks []Task }

func (oneCPU) Generate(r *rand.Rand, _ int) reflect.Value {
	var s oneCPU
	for range 1 + r.Intn(4) {
		t := randomTask(r, 1)
		t.CPUs = 0
		t.Demand = math.Min(t.Demand, 1.5)
		s.Tasks = append(s.Tasks, t)
	}
	return reflect.ValueOf(s)
}

func TestModelAgreesWithTimeSlicedScheduler(t *testing.T) {
	agrees := func(s oneCPU) bool {
		got, err := Allocate(1, s.Tasks)
		if err != nil {
			t.Logf("%+v: %v", s.Tasks, err)
			return false
		}
		ref := sliceSchedule(s.Tasks, 10, 0.00025, 0.1)
		for i := range s.Tasks {
			if math.Abs(got[i].Usage-ref.usage[i]) > 0.01 {
				t.Logf("%+v: task %d usage %.4f, time-sliced %.4f", s.Tasks, i, got[i].Usage, ref.usage[i])
				return false
			}
			if math.Abs(got[i].ThrottledFraction-ref.throttled[i]) > 0.02 {
				t.Logf("%+v: task %d throttled %.4f, time-sliced %.4f", s.Tasks, i, got[i].ThrottledFraction, ref.throttled[i])
				return false
			}
		}
		return true
	}
	if err := quick.Check(agrees, quickConfig(200)); err != nil {
		t.Fatal(err)
	}
}
