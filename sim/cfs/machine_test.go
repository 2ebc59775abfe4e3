package cfs

import (
	"math"
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/sim/cpu"
)

// runFor runs seconds in ticks of a second and returns the last tick.
func runFor(t *testing.T, m *Machine, tasks []Task, seconds float64) []Result {
	t.Helper()
	var last []Result
	for range int(seconds) {
		var err error
		if last, err = m.Run(tasks, 1); err != nil {
			t.Fatal(err)
		}
	}
	return last
}

func newMachine(t *testing.T, cpus int, p Profile) *Machine {
	t.Helper()
	m, err := NewMachine(cpus, p.WithDefaults(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVictimAndHogShareACPUByWeight(t *testing.T) {
	m := newMachine(t, 1, Profile{})
	got := runFor(t, m, []Task{
		{Key: "a-victim", Demand: 0.8, RequestSeconds: 0.001},
		{Key: "b-hog", Demand: 1},
	}, 5)
	if math.Abs(got[0].Usage-0.5) > 0.02 || math.Abs(got[1].Usage-0.5) > 0.02 {
		t.Fatalf("usage %.3f / %.3f, want 0.5 each", got[0].Usage, got[1].Usage)
	}
	if got[0].Work.Backlog < 0.5 {
		t.Errorf("victim backlog %.3f CPU-s after 5 s short of 0.3 cores, want it growing", got[0].Work.Backlog)
	}
}

func TestAloneVictimServesEveryRequestInItsServiceTime(t *testing.T) {
	m := newMachine(t, 1, Profile{WakeupLatencyMs: 0.1})
	got := runFor(t, m, []Task{{Key: "victim", Demand: 0.5, RequestSeconds: 0.001}}, 2)
	l := got[0].Latency
	if l == nil || l.Count < 120 || l.P99Ms > 1.21 || got[0].Work.Backlog > 0.002 {
		t.Fatalf("latency %+v backlog %g, want ~125 requests of 1.1-1.2 ms", l, got[0].Work.Backlog)
	}
}

func TestThrottledHogBurstsUnderCFSNotEEVDF(t *testing.T) {
	// The hog's quota is 0.3 of the CPU: it gets no more. Under CFS it comes
	// back from throttling far behind in virtual runtime and spends its
	// refilled budget in one burst, which the victim's requests wait out;
	// EEVDF bounds its lag and lets it run a slice at a time.
	for _, c := range []struct {
		scheduler    string
		minMs, maxMs float64
	}{{SchedulerCFS, 15, 40}, {SchedulerEEVDF, 1, 15}} {
		m := newMachine(t, 1, Profile{Scheduler: c.scheduler})
		got := runFor(t, m, []Task{
			{Key: "a-victim", Demand: 0.6, RequestSeconds: 0.001},
			{Key: "b-hog", Demand: 1, QuotaCores: 0.3},
		}, 5)
		if math.Abs(got[1].Usage-0.3) > 0.02 || got[1].Limit != cpu.LimitQuota {
			t.Fatalf("%s: hog %+v, want 0.3 cores limited by its quota", c.scheduler, got[1])
		}
		if l := got[0].Latency; l == nil || l.MaxMs < c.minMs || l.MaxMs > c.maxMs {
			t.Errorf("%s: victim latency %+v, want the longest wait within [%g, %g] ms", c.scheduler, l, c.minMs, c.maxMs)
		}
	}
}

func TestSameSeedSameTimeline(t *testing.T) {
	run := func(seed uint64) []Result {
		m, err := NewMachine(2, Profile{NoiseCores: 0.05, WakeupLatencyMs: 0.3}.WithDefaults(), seed)
		if err != nil {
			t.Fatal(err)
		}
		var all []Result
		for k := range 20 {
			tasks := []Task{
				{Key: "hog", CPUs: 1, Demand: 1, QuotaCores: 0.25},
				{Key: "spread", Demand: 1.5, Threads: 2},
				{Key: "victim", CPUs: 1, Demand: 0.3 + 0.02*float64(k), RequestSeconds: 0.001},
			}
			got, err := m.Run(tasks, 0.25)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got...)
		}
		return all
	}
	if a, b := run(7), run(7); !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with seed 7 differ")
	}
	if a, b := run(7), run(8); reflect.DeepEqual(a, b) {
		t.Fatal("seeds 7 and 8 give the same timeline: the noise is not seeded")
	}
}

func TestNoWorkArrivesBeforeTheWorkloadRuns(t *testing.T) {
	m := newMachine(t, 1, Profile{})
	got, err := m.Run([]Task{{Key: "hog", Demand: 1, FromSeconds: 0.1}}, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0].Usage-0.6) > 0.01 || math.Abs(got[0].Work.Arrived-0.15) > 1e-6 {
		t.Errorf("usage %.4f, arrived %.4f: want 0.6 cores over the tick, 0.15 CPU-s from 0.1 s on", got[0].Usage, got[0].Work.Arrived)
	}
}

// BenchmarkMachineTick is one 250 ms tick of the shield scenarios' node: a
// victim's requests and a quota-bound hog on one CPU of two, with noise.
func BenchmarkMachineTick(b *testing.B) {
	m, err := NewMachine(2, Profile{NoiseCores: 0.01, WakeupLatencyMs: 0.5, VictimOverhead: 0.05}.WithDefaults(), 1)
	if err != nil {
		b.Fatal(err)
	}
	tasks := []Task{
		{Key: "hog", CPUs: 1, Shares: 2, Demand: 1, QuotaCores: 0.3},
		{Key: "victim", CPUs: 1, Shares: 10000, Demand: 0.7, RequestSeconds: 0.001},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Run(tasks, 0.25); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSettingAQuotaRefillsTheBudget(t *testing.T) {
	m := newMachine(t, 1, Profile{})
	hog := Task{Key: "hog", Demand: 1}
	if _, err := m.Run([]Task{hog}, 0.05); err != nil {
		t.Fatal(err)
	}
	// 50 ms into a period the hog gets a quota of 0.5: 50 ms of budget at
	// once, which it spends in the 50 ms left of the period.
	hog.QuotaCores = 0.5
	got, err := m.Run([]Task{hog}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0].Usage-1) > 0.01 {
		t.Errorf("usage %.3f after the quota was set mid-period, want a whole core", got[0].Usage)
	}
}
