package cpu

import (
	"math"
	"strings"
	"testing"
)

const eps = 1e-9

func allocate(t *testing.T, cpus int, tasks ...Task) []Share {
	t.Helper()
	shares, err := Allocate(cpus, tasks)
	if err != nil {
		t.Fatalf("Allocate(%d CPUs, %+v): %v", cpus, tasks, err)
	}
	return shares
}

func wantUsage(t *testing.T, got []Share, want ...float64) {
	t.Helper()
	for i, w := range want {
		if math.Abs(got[i].Usage-w) > eps {
			t.Errorf("task %d: usage %.6f, want %.6f (all: %+v)", i, got[i].Usage, w, got)
		}
	}
}

func TestEqualSharesSplitOneCore(t *testing.T) {
	victim := Task{CPUs: 1, Demand: 0.5}
	hog := Task{CPUs: 1, Demand: 1}
	got := allocate(t, 2, victim, hog)
	wantUsage(t, got, 0.5, 0.5)
	if got[0].Wait > eps || got[0].Limit != LimitDemand {
		t.Errorf("victim: wait %g limit %s, want no wait, limited by its demand", got[0].Wait, got[0].Limit)
	}
	if math.Abs(got[1].Wait-0.5) > eps || got[1].Limit != LimitContention {
		t.Errorf("hog: wait %g limit %s, want 0.5 wait by contention", got[1].Wait, got[1].Limit)
	}
}

func TestContendedVictimWaits(t *testing.T) {
	got := allocate(t, 1, Task{Demand: 0.8}, Task{Demand: 1})
	wantUsage(t, got, 0.5, 0.5)
	if math.Abs(got[0].Wait-0.3) > eps {
		t.Errorf("victim wait %g, want 0.3", got[0].Wait)
	}
}

func TestQuotaOnHogLeavesVictimWhatItWants(t *testing.T) {
	victim := Task{CPUs: 1, Demand: 0.8}
	hog := Task{CPUs: 1, Demand: 1, QuotaCores: 0.2}
	got := allocate(t, 2, victim, hog)
	wantUsage(t, got, 0.8, 0.2)
	if got[1].Limit != LimitQuota {
		t.Errorf("hog limit %s, want quota", got[1].Limit)
	}
	// At the start of each period the hog's budget is full and it takes its
	// weighted half of the core: 0.2 cores' budget lasts 40% of the period,
	// and it sits throttled for the other 60% while the victim catches up.
	if math.Abs(got[1].ThrottledFraction-0.6) > eps {
		t.Errorf("hog throttled %g of the tick, want 0.6", got[1].ThrottledFraction)
	}
}

func TestQuotaThrottlesHog(t *testing.T) {
	victim := Task{Demand: 0.5}
	hog := Task{Demand: 1, QuotaCores: 0.3}
	got := allocate(t, 1, victim, hog)
	wantUsage(t, got, 0.5, 0.3)
	// Unlimited, the hog would run at 0.5; its 0.3 lasts 60% of a period.
	if math.Abs(got[1].ThrottledFraction-0.4) > eps {
		t.Errorf("hog throttled %g of the tick, want 0.4", got[1].ThrottledFraction)
	}
	if got[0].Limit != LimitDemand {
		t.Errorf("victim limit %s, want demand", got[0].Limit)
	}
}

func TestSharesTenToOne(t *testing.T) {
	got := allocate(t, 1, Task{Shares: 10240, Demand: 1}, Task{Shares: 1024, Demand: 1})
	wantUsage(t, got, 10.0/11, 1.0/11)
	// A victim that wants less than its weighted share gets all of it.
	got = allocate(t, 1, Task{Shares: 10240, Demand: 0.5}, Task{Shares: 1024, Demand: 1})
	wantUsage(t, got, 0.5, 0.5)
}

func TestWorkConservingAcrossCPUSets(t *testing.T) {
	// Two tasks share CPU 0; a third may use CPUs 0-1 and takes CPU 1 whole
	// instead of a third of the node.
	got := allocate(t, 2,
		Task{CPUs: 0b01, Demand: 1},
		Task{CPUs: 0b01, Demand: 1},
		Task{CPUs: 0b11, Demand: 2})
	wantUsage(t, got, 0.5, 0.5, 1)
}

func TestSpreadTaskSharesBothCPUs(t *testing.T) {
	// A on CPU 0, B on CPU 1, C on both: everyone gets 2/3.
	got := allocate(t, 2,
		Task{CPUs: 0b01, Demand: 1},
		Task{CPUs: 0b10, Demand: 1},
		Task{CPUs: 0b11, Demand: 2})
	wantUsage(t, got, 2.0/3, 2.0/3, 2.0/3)
}

func TestCPUSetCapsParallelism(t *testing.T) {
	got := allocate(t, 4, Task{CPUs: 0b11, Demand: 3})
	wantUsage(t, got, 2)
	if got[0].Limit != LimitCPUSet || math.Abs(got[0].Wait-1) > eps {
		t.Errorf("got %+v, want limited by its cpuset with 1 core waiting", got[0])
	}
}

func TestIdleTaskUsesNothing(t *testing.T) {
	got := allocate(t, 1, Task{Demand: 0}, Task{Demand: 0.25})
	wantUsage(t, got, 0, 0.25)
	if got[0].Limit != LimitIdle {
		t.Errorf("idle task limit %s, want idle", got[0].Limit)
	}
}

func TestAllocateRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		cpus  int
		task  Task
		error string
	}{
		{"no cpus", 0, Task{}, "0 CPUs"},
		{"too many cpus", 65, Task{}, "65 CPUs"},
		{"cpuset outside node", 2, Task{CPUs: 0b100}, "outside"},
		{"negative demand", 1, Task{Demand: -1}, "demand"},
		{"NaN demand", 1, Task{Demand: math.NaN()}, "demand"},
		{"negative quota", 1, Task{QuotaCores: -0.5}, "quota"},
	}
	for _, c := range cases {
		_, err := Allocate(c.cpus, []Task{c.task})
		if err == nil || !strings.Contains(err.Error(), c.error) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.error)
		}
	}
}

func TestCheckCPUSetsBoundsTheWork(t *testing.T) {
	if err := CheckCPUSets(8, []Mask{1, 2, 4, 8, 0xff}); err != nil {
		t.Fatalf("a few cpusets on 8 CPUs: %v", err)
	}
	var many []Mask
	for cpu := range 16 {
		many = append(many, 1<<cpu)
	}
	if err := CheckCPUSets(64, many); err == nil {
		t.Fatal("16 disjoint single-CPU cpusets on 64 CPUs: want an error, the unions number 65535")
	}
}

func TestMaskString(t *testing.T) {
	for m, want := range map[Mask]string{0: "", 1: "0", 0b1011: "0-1,3", AllCPUs(64): "0-63"} {
		if got := m.String(); got != want {
			t.Errorf("Mask(%#b).String() = %q, want %q", uint64(m), got, want)
		}
	}
}
