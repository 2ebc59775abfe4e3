package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-io/sluice/sim/demand"
)

var testSchedule = schedule{load: demand.Sine{Base: 0.5, Amplitude: 0.3, PeriodSeconds: 20}, unit: time.Millisecond}

func TestArrivedUnitsCountsWholeUnits(t *testing.T) {
	flat := schedule{load: demand.Constant{Cores: 0.5}, unit: 10 * time.Millisecond}
	cases := []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {19 * time.Millisecond, 0}, {20 * time.Millisecond, 1}, {39 * time.Millisecond, 1}, {time.Second, 50}}
	for _, c := range cases {
		if got := flat.arrivedUnits(c.at); got != c.want {
			t.Errorf("arrivedUnits(%v) = %d, want %d", c.at, got, c.want)
		}
	}
}

func TestWaitForNextSleepsUntilTheNextUnitWithinBounds(t *testing.T) {
	flat := schedule{load: demand.Constant{Cores: 0.5}, unit: 10 * time.Millisecond}
	// At 0.5 cores a 10 ms unit arrives every 20 ms; 5 ms in, 15 ms remain.
	if got := flat.waitForNext(5*time.Millisecond, 0, time.Second); got != 15*time.Millisecond {
		t.Errorf("waitForNext(5ms) = %v, want 15ms", got)
	}
	if got := flat.waitForNext(5*time.Millisecond, 0, 4*time.Millisecond); got != 4*time.Millisecond {
		t.Errorf("waitForNext capped at 4ms = %v", got)
	}
	idle := schedule{load: demand.Constant{}, unit: time.Millisecond}
	if got := idle.waitForNext(0, 0, 7*time.Millisecond); got != 7*time.Millisecond {
		t.Errorf("waitForNext at zero demand = %v, want the cap 7ms", got)
	}
}

func TestReporterBacklogIsArrivedMinusServed(t *testing.T) {
	r := newReporter(testSchedule)
	tick := 250 * time.Millisecond
	var served int64
	backlog := 0.0
	for i := 1; i <= 40; i++ {
		at := time.Duration(i) * tick
		if i%4 != 0 { // starved one tick in four
			served = testSchedule.arrivedUnits(at) - int64(i/4)*50
		}
		rep := r.next(at, served)
		if want := round(backlog + rep.Arrived - rep.Served); math.Abs(rep.Backlog-want) > 1e-6 {
			t.Fatalf("tick %d: backlog %g, want previous %g + arrived %g - served %g", i, rep.Backlog, backlog, rep.Arrived, rep.Served)
		}
		if wantDemand := (testSchedule.cumulative(at) - testSchedule.cumulative(at-tick)) / tick.Seconds(); math.Abs(rep.Demand-wantDemand) > 1e-5 {
			t.Fatalf("tick %d: demand %g, want %g", i, rep.Demand, wantDemand)
		}
		backlog = rep.Backlog
	}
	if backlog <= 0 {
		t.Fatalf("starving the server left no backlog")
	}
}

func TestServerServesEachArrivedUnitOnce(t *testing.T) {
	flat := schedule{load: demand.Constant{Cores: 1}, unit: time.Millisecond}
	var burned atomic.Int64
	var mu sync.Mutex
	seen := map[int64]int{}
	srv := &server{
		sched:   flat,
		elapsed: func() time.Duration { return 200 * time.Millisecond }, // 200 units arrived, no more
		burn:    func(d time.Duration) { burned.Add(int64(d)) },
		onServed: func(unit int64, _, _ time.Duration) {
			mu.Lock()
			seen[unit]++
			mu.Unlock()
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { srv.work(ctx) })
	}
	for srv.served.Load() < 200 {
		runtime.Gosched()
	}
	cancel()
	wg.Wait()
	if got := srv.served.Load(); got != 200 {
		t.Fatalf("served %d units, want the 200 that arrived", got)
	}
	if got := time.Duration(burned.Load()); got != 200*time.Millisecond {
		t.Errorf("burned %v, want 200 units of 1ms", got)
	}
	for unit := range int64(200) {
		if seen[unit] != 1 {
			t.Fatalf("unit %d served %d times", unit, seen[unit])
		}
	}
}

func TestBurnCPURunsUntilTheClockAdvances(t *testing.T) {
	var calls time.Duration
	fake := func() time.Duration { calls += 100 * time.Microsecond; return calls }
	burnCPU(time.Millisecond, fake)
	if calls < 1100*time.Microsecond {
		t.Fatalf("burnCPU stopped after the clock reached %v, want at least 1ms past the start", calls)
	}
}

func TestBurnCPUUsesRealThreadCPUTime(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := threadCPUTime()
	if err != nil {
		t.Fatal(err)
	}
	burnCPU(20*time.Millisecond, threadClock)
	used := threadClock() - before
	if used < 20*time.Millisecond {
		t.Fatalf("thread used %v of CPU, want at least 20ms", used)
	}
}

func noEnv(string) string { return "" }

func TestParseFlagsRejectsBadValues(t *testing.T) {
	bad := [][]string{
		{"--period", "0s"},
		{"--tick", "1ms", "--unit", "2ms"},
		{"--workers", "0"},
		{"--duration", "-1s"},
		{"--demand", `{"kind":"sine","base":0.5}`},                     // no period
		{"--demand", `{"kind":"constant","value":1}`, "--base", "0.3"}, // two demands
		{"--demand", `{"kind":"csv","file":"load.csv"}`},               // a file it cannot read
		{"--demand", `{"kind":"constant","value":1,"colour":"red"}`},
		{"--demand", "not json"},
		{"extra"},
	}
	for _, args := range bad {
		if _, err := parseFlags(args, noEnv, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
}

func TestParseFlagsTakesTheDemandFromFlagsElseTheEnvironment(t *testing.T) {
	env := func(name string) string {
		if name == envDemand {
			return `{"kind":"csv","points":[[0,0.2],[10,0.6]]}`
		}
		return ""
	}
	cases := []struct {
		args []string
		at   float64
		rate float64
	}{
		{[]string{"--base", "0.6", "--amplitude", "0.4", "--period", "30s"}, 7.5, 1.0},
		{[]string{"--demand", `{"kind":"step","value":0.1,"step_at_seconds":5,"step_to":0.9}`}, 6, 0.9},
		{[]string{"--demand", `{"kind":"square","base":0.5,"amplitude":0.2,"period_seconds":4}`}, 3, 0.3},
		{nil, 5, 0.4}, // the environment's trace, halfway
	}
	for _, c := range cases {
		cfg, err := parseFlags(c.args, env, io.Discard)
		if err != nil {
			t.Fatalf("parseFlags(%q): %v", c.args, err)
		}
		if got := cfg.sched.rate(time.Duration(c.at * float64(time.Second))); math.Abs(got-c.rate) > 1e-9 {
			t.Errorf("parseFlags(%q): rate at %g s = %g, want %g", c.args, c.at, got, c.rate)
		}
	}
	cfg, err := parseFlags([]string{"--reports=false"}, noEnv, io.Discard)
	if err != nil || cfg.reports {
		t.Errorf("--reports=false: reports %v, err %v", cfg.reports, err)
	}
}

func TestRunPrintsOneJSONLinePerTick(t *testing.T) {
	cfg := config{
		sched:    schedule{load: demand.Sine{Base: 0.1, Amplitude: 0.05, PeriodSeconds: 1}, unit: time.Millisecond},
		tick:     50 * time.Millisecond,
		duration: 275 * time.Millisecond,
		workers:  1,
		reports:  true,
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	var lines []map[string]float64
	for dec.More() {
		var line map[string]float64
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("line %d: %v", len(lines)+1, err)
		}
		lines = append(lines, line)
	}
	if len(lines) < 4 || len(lines) > 6 {
		t.Fatalf("got %d lines over 275ms at a 50ms tick: %v", len(lines), lines)
	}
	total := 0.0
	for _, l := range lines {
		for _, key := range []string{"t", "arrived", "served", "backlog", "demand"} {
			if _, ok := l[key]; !ok {
				t.Fatalf("line %v lacks %q", l, key)
			}
		}
		total += l["served"]
	}
	if total <= 0 {
		t.Fatalf("nothing served at 0.1 cores: %v", lines)
	}
}

func TestRunWithoutReportsPrintsNothing(t *testing.T) {
	cfg := config{
		sched:    schedule{load: demand.Constant{Cores: 0.1}, unit: time.Millisecond},
		tick:     20 * time.Millisecond,
		duration: 100 * time.Millisecond,
		workers:  1,
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q with reports off", out.String())
	}
}
