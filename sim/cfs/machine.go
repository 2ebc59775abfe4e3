package cfs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/sluice-io/sluice/sim/cpu"
	"github.com/sluice-io/sluice/state"
)

// Task is one container as the machine runs it over a tick.
type Task struct {
	// Key names the container; the machine carries its scheduler state
	// (virtual runtime, quota budget, queued requests) from tick to tick
	// under this key. Tasks are given sorted by Key.
	Key string
	// CPUs is the cpuset; zero means every CPU.
	CPUs cpu.Mask
	// Shares is the CFS weight; zero means cpu.DefaultShares.
	Shares uint64
	// QuotaCores is the CFS quota over its period, in cores; zero is none.
	QuotaCores float64
	// Demand is the rate, in cores, at which work arrives over the tick.
	Demand float64
	// RequestSeconds, when above zero, makes the task a work queue of
	// requests of this much nominal CPU each, served first come first
	// served by one thread; the machine measures their latency. Otherwise
	// the work is fluid and runs on up to Threads CPUs at once.
	RequestSeconds float64
	// Threads is how many CPUs a fluid task may run on at once; 0 is 1.
	Threads int
	// FromSeconds is when, after the tick's start, work begins to arrive:
	// later than 0 for a container still starting.
	FromSeconds float64
}

// Result is what a task did over the tick.
type Result struct {
	// Usage is the CPU it ran, in cores.
	Usage float64
	// Wait is the time it had work and was not running (waking, queued
	// behind others), per second of the tick; throttled time is not wait.
	Wait float64
	// ThrottledSeconds is the time its quota kept it off the CPU while it
	// had work.
	ThrottledSeconds float64
	Limit            cpu.Limit
	// Work is the nominal work (CPU-seconds) that arrived, was served and
	// is left queued; for a work queue the overhead is not counted.
	Work state.WorkReport
	// Latency covers the requests that completed in the tick, from their
	// arrival to their completion; nil when none did.
	Latency *state.LatencyStats
}

// request is one queued request of a work queue.
type request struct {
	arrival float64 // seconds, machine time
	left    float64 // CPU-seconds still to run, overhead included
}

// taskState is what the machine remembers of a task between steps.
type taskState struct {
	Task
	weight    float64
	mask      cpu.Mask
	threads   int
	vruntime  float64
	deadline  float64 // EEVDF: virtual deadline of the current slice
	lag       float64 // EEVDF: how far behind the average it left the queue
	onQueue   bool    // on the run queue: has work and is not throttled
	budget    float64 // quota runtime left in the period, CPU-seconds
	throttled bool
	pending   float64 // fluid work queued, CPU-seconds
	queue     []request
	partial   float64 // requests arrived in part, for a work queue
	cost      float64 // CPU per nominal CPU of a work queue's requests
	readyAt   float64 // a task waking up runs from then on
	hadWork   bool
	woke      bool // enqueued since it last ran: may preempt
	running   int  // CPUs it runs on in this step
	// per tick
	used, waited, throttledFor float64
	arrived, served            float64
	latencies                  []float64
}

// cpuState is one CPU: what runs on it and since when.
type cpuState struct {
	current   *taskState
	since     float64 // when current got the CPU
	resched   bool    // EEVDF: current's slice ran out; pick again at the next event
	noiseBusy bool
}

// Machine runs tasks on a node's CPUs in small time steps, as Linux's fair
// scheduler (EEVDF or CFS) does: virtual runtimes by weight, slices,
// preemption, quota periods
// with throttling and refill, a scheduling latency and seeded background
// load. It keeps its state between ticks; it is not safe for concurrent
// use.
type Machine struct {
	p          Profile
	cpus       []cpuState
	tasks      []*taskState // sorted by key
	rng        *rand.Rand
	step       int64 // steps run since the machine started
	tickStart  int64 // the step the tick began at
	h          float64
	minVR      float64 // CFS: the run queue's minimum virtual runtime
	avgVR      float64 // EEVDF: the weighted average virtual runtime
	slice      float64 // seconds: EEVDF's base slice, CFS's min granularity
	latency    float64 // seconds: CFS's target latency
	wakeGran   float64 // seconds: CFS's wake-up granularity
	stepsPer   int64   // steps per quota period
	tickEvery  int64   // steps per scheduler tick
	noiseOn    float64
	noiseOff   float64
	candidates []*taskState
}

// NewMachine returns an idle machine of cpus CPUs. p must have its
// defaults filled (Profile.WithDefaults) and be valid.
func NewMachine(cpus int, p Profile, seed uint64) (*Machine, error) {
	if cpus < 1 || cpus > cpu.MaxCPUs {
		return nil, fmt.Errorf("timed CPU model: %d CPUs, handles 1-%d", cpus, cpu.MaxCPUs)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m := &Machine{
		p: p, cpus: make([]cpuState, cpus), rng: rand.New(rand.NewPCG(seed, 0xcf5)),
		h:         p.StepMs / 1e3,
		stepsPer:  max(1, int64(math.Round(p.PeriodMs/p.StepMs))),
		tickEvery: max(1, int64(math.Round(p.SchedTickMs/p.StepMs))),
	}
	scale := 1 + math.Log2(float64(min(cpus, 8)))
	m.slice, m.latency, m.wakeGran = scale*p.MinGranularityMs/1e3, scale*p.TargetLatencyMs/1e3, scale*p.WakeupGranularityMs/1e3
	// Background load is an on/off source per CPU: bursts of mean length
	// NoiseBurstMs, spaced so that the CPU is busy NoiseCores of the time.
	if p.NoiseCores > 0 {
		m.noiseOff = m.h / (p.NoiseBurstMs / 1e3)
		m.noiseOn = m.noiseOff * p.NoiseCores / (1 - p.NoiseCores)
	}
	return m, nil
}

// Run runs the tasks for seconds and returns one Result per task, in
// order. Tasks absent since the last call are forgotten; new ones start
// idle, with a full quota budget.
func (m *Machine) Run(tasks []Task, seconds float64) ([]Result, error) {
	if err := m.admit(tasks); err != nil {
		return nil, err
	}
	steps := int(math.Round(seconds / m.h))
	m.tickStart = m.step
	for range steps {
		m.advance()
	}
	out := make([]Result, len(m.tasks))
	for i, t := range m.tasks {
		out[i] = t.result(seconds)
	}
	return out, nil
}

// admit lines the machine's tasks up with the tick's, keeping the state of
// the ones that carry on.
func (m *Machine) admit(tasks []Task) error {
	all := cpu.AllCPUs(len(m.cpus))
	next := make([]*taskState, len(tasks))
	for i, t := range tasks {
		if i > 0 && tasks[i-1].Key >= t.Key {
			return fmt.Errorf("timed CPU model: tasks not sorted by key at %q", t.Key)
		}
		if !all.Contains(t.CPUs) || math.IsNaN(t.Demand) || t.Demand < 0 || math.IsNaN(t.QuotaCores) || t.QuotaCores < 0 {
			return fmt.Errorf("timed CPU model: task %s: cpuset %s, demand %g, quota %g", t.Key, t.CPUs, t.Demand, t.QuotaCores)
		}
		s := m.find(t.Key)
		if s == nil {
			s = &taskState{vruntime: max(m.minVR, m.avgVR), Task: Task{QuotaCores: -1}}
		}
		if s.QuotaCores != t.QuotaCores {
			// Setting a quota refills the budget at once, as writing
			// cpu.cfs_quota_us does.
			s.budget, s.throttled = t.QuotaCores*m.p.PeriodMs/1e3, false
		}
		s.Task = t
		s.mask, s.weight, s.threads = t.CPUs, float64(t.Shares), max(1, t.Threads)
		if s.mask == 0 {
			s.mask = all
		}
		if t.Shares == 0 {
			s.weight = cpu.DefaultShares
		}
		s.cost = 1
		if t.RequestSeconds > 0 {
			s.threads, s.cost = 1, 1+m.p.VictimOverhead
		}
		s.used, s.waited, s.throttledFor, s.arrived, s.served = 0, 0, 0, 0, 0
		s.latencies = s.latencies[:0]
		next[i] = s
	}
	m.tasks = next
	for c := range m.cpus {
		if cur := m.cpus[c].current; cur != nil && m.find(cur.Key) != cur {
			m.cpus[c].current = nil
		}
	}
	return nil
}

func (m *Machine) find(key string) *taskState {
	i, ok := slices.BinarySearchFunc(m.tasks, key, func(t *taskState, k string) int {
		switch {
		case t.Key < k:
			return -1
		case t.Key > k:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return m.tasks[i]
}

// advance runs one time step.
func (m *Machine) advance() {
	now := float64(m.step) * m.h
	if m.step%m.stepsPer == 0 {
		m.refill()
	}
	schedTick := m.step%m.tickEvery == 0
	m.step++
	woke := false
	sinceTick := float64(m.step-1-m.tickStart) * m.h
	for _, t := range m.tasks {
		if sinceTick+1e-12 >= t.FromSeconds {
			t.arrive(now, m.h)
		}
		woke = m.requeue(t, now) || woke
		t.running = 0
	}
	for c := range m.cpus {
		m.runCPU(c, now, schedTick || woke)
	}
	for _, t := range m.tasks {
		t.account(m.h)
	}
	m.updateClock()
}

// refill starts a quota period: every budget is full again and throttled
// tasks are back on their run queues with the virtual runtime they left
// with, which is what lets them run in a burst.
func (m *Machine) refill() {
	for _, t := range m.tasks {
		t.budget = t.QuotaCores * m.p.PeriodMs / 1e3
		t.throttled = false
	}
}

func (t *taskState) arrive(now, h float64) {
	work := t.Demand * h
	t.arrived += work
	if t.RequestSeconds <= 0 {
		// A fluid task banks a little unmet demand, not an unbounded amount.
		t.pending = min(t.pending+work, t.Demand*periodBank+h*float64(t.threads))
		return
	}
	rate := work / t.RequestSeconds // requests this step
	before := t.partial
	t.partial += rate
	for k := 1.0; k <= t.partial+1e-12; k++ {
		at := now + h*(k-before)/rate
		t.queue = append(t.queue, request{arrival: min(at, now+h), left: t.RequestSeconds * t.cost})
	}
	t.partial -= math.Floor(t.partial + 1e-12)
}

func (t *taskState) hasWork() bool {
	if t.RequestSeconds > 0 {
		return len(t.queue) > 0
	}
	return t.pending > 1e-12
}

// periodBank is how much unmet demand, in seconds of it, a fluid task keeps.
const periodBank = 0.1

// requeue puts a task on the run queue when it gets work or its quota
// refills, and takes it off when it runs out of work or is throttled. A
// task that gets work after having none is a wake-up: it runs only after
// the scheduling latency. It reports whether the task was enqueued.
func (m *Machine) requeue(t *taskState, now float64) bool {
	has := t.hasWork()
	woke := has && !t.hadWork
	if woke {
		t.readyAt = now + m.p.WakeupLatencyMs/1e3
	}
	t.hadWork = has
	on := has && !t.throttled
	switch {
	case on && !t.onQueue:
		m.enqueue(t, woke)
	case !on && t.onQueue && m.p.Scheduler == SchedulerEEVDF:
		// The lag it leaves with, bounded as the kernel bounds it.
		limit := max(2*m.slice, m.p.SchedTickMs/1e3) * cpu.DefaultShares / t.weight
		t.lag = min(max(m.avgVR-t.vruntime, -limit), limit)
	}
	t.onQueue = on
	return on && t.woke
}

// enqueue places a task on the run queue. EEVDF places it at the average
// virtual runtime less the lag it left with, with a fresh deadline. CFS
// gives a waking task at most half the target latency of credit; a task
// back from throttling keeps the virtual runtime it had, which is what
// lets it run its whole budget in a burst.
func (m *Machine) enqueue(t *taskState, woke bool) {
	switch {
	case m.p.Scheduler == SchedulerEEVDF:
		t.vruntime = m.avgVR - t.lag
		t.deadline = t.vruntime + m.virtual(t, m.slice)
	case woke:
		t.vruntime = max(t.vruntime, m.minVR-m.latency/2)
	default:
		return
	}
	t.woke = true
}

// virtual converts seconds of t's CPU time into virtual runtime.
func (m *Machine) virtual(t *taskState, seconds float64) float64 {
	return seconds * cpu.DefaultShares / t.weight
}

func (t *taskState) runnable(now float64) bool {
	return t.hasWork() && !t.throttled && now+1e-12 >= t.readyAt
}

// runCPU picks what runs on CPU c for the step and runs it. event is set
// at a scheduler tick or when a task was enqueued: the moments the kernel
// reconsiders the running task.
func (m *Machine) runCPU(c int, now float64, event bool) {
	cs := &m.cpus[c]
	if m.noiseOn > 0 {
		m.flipNoise(cs)
		if cs.noiseBusy {
			return
		}
	}
	weights := m.gather(c, now, cs.current)
	cur := cs.current
	if cur != nil && !slices.Contains(m.candidates, cur) {
		cur = nil
	}
	if m.p.Scheduler == SchedulerEEVDF {
		cur = m.pickEEVDF(cs, cur, event)
	} else {
		cur = m.pickCFS(cur, now-cs.since, weights, event)
	}
	m.fill(cs, cur, now)
}

// fill runs cur on the CPU for the step; when it runs out of work or
// budget before the step ends, the CPU is free and the next task in the
// scheduler's order takes the rest, so a light task does not idle it.
func (m *Machine) fill(cs *cpuState, cur *taskState, now float64) {
	at, left := now, m.h
	for cur != nil {
		if cur != cs.current {
			cs.current, cs.since = cur, at
		}
		cur.woke = false
		cur.running++
		used := cur.run(at, left)
		at, left = at+used, left-used
		if left <= 1e-12 {
			return
		}
		m.candidates = slices.DeleteFunc(m.candidates, func(t *taskState) bool { return t == cur })
		cur = m.pickFree()
	}
	cs.current = nil
}

// gather collects the tasks that may run on CPU c now and their weight.
func (m *Machine) gather(c int, now float64, current *taskState) float64 {
	bit := cpu.Mask(1) << c
	m.candidates = m.candidates[:0]
	var weights float64
	for _, t := range m.tasks {
		if t.mask&bit != 0 && t.runnable(now) && (t.running < t.threads || t == current) {
			m.candidates = append(m.candidates, t)
			weights += t.weight
		}
	}
	return weights
}

// pickCFS keeps the running task until a waking task is more than the
// wake-up granularity behind it, or until its slice is over at a scheduler
// tick and another task is behind it; then the lowest virtual runtime runs.
func (m *Machine) pickCFS(cur *taskState, ran, weights float64, event bool) *taskState {
	best := m.lowestVR(cur)
	switch {
	case best == nil:
		return cur
	case cur == nil:
		return best
	case best.woke && best.vruntime+m.wakeGran < cur.vruntime:
		return best
	case event && ran >= max(m.slice, m.latency*cur.weight/weights) && best.vruntime < cur.vruntime:
		return best
	}
	return cur
}

// pickEEVDF keeps the running task while its slice lasts (the kernel's
// RUN_TO_PARITY); once its virtual runtime passes its deadline it gets a
// new one, and at the next tick or enqueue the eligible task (not ahead of
// the average) with the earliest deadline runs.
func (m *Machine) pickEEVDF(cs *cpuState, cur *taskState, event bool) *taskState {
	if cur != nil && cur.vruntime >= cur.deadline {
		cur.deadline = cur.vruntime + m.virtual(cur, m.slice)
		cs.resched = true
	}
	if cur != nil && (!cs.resched || !event) {
		return cur
	}
	cs.resched = false
	return m.pickFree()
}

// pickFree is the candidate a free CPU takes: under EEVDF the eligible one
// (not ahead of the average) with the earliest deadline, under CFS (or when
// none is eligible) the lowest virtual runtime.
func (m *Machine) pickFree() *taskState {
	if m.p.Scheduler != SchedulerEEVDF {
		return m.lowestVR(nil)
	}
	var best *taskState
	for _, t := range m.candidates {
		if t.vruntime > m.avgVR+1e-12 {
			continue
		}
		if best == nil || t.deadline < best.deadline {
			best = t
		}
	}
	if best == nil {
		best = m.lowestVR(nil)
	}
	return best
}

// lowestVR is the candidate other than cur with the lowest virtual runtime.
func (m *Machine) lowestVR(cur *taskState) *taskState {
	var best *taskState
	for _, t := range m.candidates {
		if t != cur && (best == nil || t.vruntime < best.vruntime) {
			best = t
		}
	}
	return best
}

func (m *Machine) flipNoise(cs *cpuState) {
	u := m.rng.Float64()
	if cs.noiseBusy {
		cs.noiseBusy = u >= m.noiseOff
	} else {
		cs.noiseBusy = u < m.noiseOn
	}
}

// run gives the task h of one CPU, less if its work runs out or its budget
// does, and returns what it used; a budget spent throttles it until the
// next period.
func (t *taskState) run(now, h float64) float64 {
	avail := h
	if t.QuotaCores > 0 {
		avail = min(avail, max(0, t.budget))
	}
	used := 0.0
	if t.RequestSeconds > 0 {
		used = t.serve(now, avail)
	} else {
		used = min(avail, t.pending)
		t.pending -= used
		t.served += used
	}
	t.used += used
	t.vruntime += used * cpu.DefaultShares / t.weight
	if t.QuotaCores > 0 {
		t.budget -= used
		t.throttled = t.budget <= 1e-12
	}
	return used
}

// serve runs the queue's requests in order for up to avail seconds and
// records the latency of each one it completes.
func (t *taskState) serve(now, avail float64) float64 {
	used := 0.0
	for len(t.queue) > 0 && used < avail-1e-15 {
		r := &t.queue[0]
		if r.arrival > now+used {
			break // arrives later in the step
		}
		run := min(r.left, avail-used)
		r.left -= run
		used += run
		t.served += run / t.cost
		if r.left <= 1e-12 {
			t.latencies = append(t.latencies, now+used-r.arrival)
			t.queue = t.queue[1:]
		}
	}
	return used
}

// account adds the step to the task's wait and throttled time.
func (t *taskState) account(h float64) {
	if !t.hasWork() || t.running > 0 {
		return
	}
	if t.throttled {
		t.throttledFor += h
	} else {
		t.waited += h
	}
}

// updateClock moves the run queue's reference point: CFS's minimum virtual
// runtime (which never goes back) and EEVDF's weighted average.
func (m *Machine) updateClock() {
	low, sum, weights := math.Inf(1), 0.0, 0.0
	for _, t := range m.tasks {
		if t.onQueue {
			low = min(low, t.vruntime)
			sum += t.weight * t.vruntime
			weights += t.weight
		}
	}
	if weights > 0 {
		m.minVR = max(m.minVR, low)
		m.avgVR = sum / weights
	}
}

func (t *taskState) result(seconds float64) Result {
	r := Result{
		Usage: t.used / seconds, Wait: t.waited / seconds, ThrottledSeconds: t.throttledFor,
		Work: state.WorkReport{Arrived: t.arrived, Served: t.served, Backlog: t.backlog()},
	}
	switch {
	case t.throttledFor > 0:
		r.Limit = cpu.LimitQuota
	case t.waited > 1e-3*seconds:
		r.Limit = cpu.LimitContention
	case t.arrived == 0:
		r.Limit = cpu.LimitIdle
	default:
		r.Limit = cpu.LimitDemand
	}
	r.Latency = latencyStats(t.latencies)
	return r
}

func (t *taskState) backlog() float64 {
	if t.RequestSeconds <= 0 {
		return t.pending
	}
	left := 0.0
	for _, r := range t.queue {
		left += r.left
	}
	return left / t.cost
}

// latencyStats is the nearest-rank summary of the tick's latencies.
func latencyStats(latencies []float64) *state.LatencyStats {
	if len(latencies) == 0 {
		return nil
	}
	slices.Sort(latencies)
	n := len(latencies)
	rank := func(p int) float64 { return latencies[min(max((p*n+99)/100, 1), n)-1] }
	return &state.LatencyStats{
		Count: int64(n), P50Ms: ms(rank(50)), P95Ms: ms(rank(95)), P99Ms: ms(rank(99)), MaxMs: ms(latencies[n-1]),
	}
}

func ms(seconds float64) float64 { return math.Round(seconds*1e6) / 1e3 }
