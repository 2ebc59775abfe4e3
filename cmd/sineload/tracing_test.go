package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/sim/demand"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sensors/traces/tracestest"
)

func TestArrivalIsTheFirstInstantArrivedUnitsCountsTheUnit(t *testing.T) {
	for unit := range int64(3000) {
		at := testSchedule.arrival(unit, time.Hour)
		if got := testSchedule.arrivedUnits(at); got <= unit {
			t.Fatalf("unit %d: arrivedUnits(%v) = %d, not yet arrived", unit, at, got)
		}
		if got := testSchedule.arrivedUnits(at - 1); got > unit {
			t.Fatalf("unit %d: arrivedUnits(%v) = %d, arrived a nanosecond earlier", unit, at-1, got)
		}
	}
}

func TestTracingConfigTakesTheAgentsEnvironmentUnlessFlagsSayOtherwise(t *testing.T) {
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://172.17.0.1:4317", "SLUICE_GUID": "sineload-3f2a"}
	getenv := func(k string) string { return env[k] }
	if got := (tracingConfig{}).withEnv(getenv); got != (tracingConfig{endpoint: "http://172.17.0.1:4317", service: "sineload-3f2a"}) {
		t.Errorf("from env: %+v", got)
	}
	flags := tracingConfig{endpoint: "127.0.0.1:4317", service: "victim"}
	if got := flags.withEnv(getenv); got != flags {
		t.Errorf("flags overridden by env: %+v", got)
	}
	if got := (tracingConfig{}).withEnv(func(string) string { return "" }); got.endpoint != "" || got.service != "sineload" {
		t.Errorf("without env: %+v, want tracing off and service sineload", got)
	}
}

const testGUID = "sineload-0a1b2c"

// startAgentIntake runs sluice's own trace intake on loopback, with the
// test GUID bound to the victim container.
func startAgentIntake(t testing.TB) *traces.Collector {
	t.Helper()
	return tracestest.Start(t, traces.Config{
		Receivers: traces.Receivers{OTLPGRPC: "127.0.0.1:0"},
		Resolver: func(service string) (traces.Binding, bool) {
			return traces.Binding{App: "shield", Container: "shield/victim"}, service == testGUID
		},
		LingerTicks: 1,
	})
}

// 200 units arrive 1 ms apart and are all served at 200 ms: unit u's
// span runs from its arrival at u+1 ms to 200 ms, so the latencies are
// 0..199 ms and their quantiles can be read off by hand.
func TestServedUnitsBecomeServerSpansFromArrivalToFinish(t *testing.T) {
	intake := startAgentIntake(t)
	flat := schedule{load: demand.Constant{Cores: 1}, unit: time.Millisecond}
	tr, err := newTracer(context.Background(), tracingConfig{endpoint: intake.Addrs().OTLPGRPC, service: testGUID}, flat, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{
		sched:    flat,
		elapsed:  func() time.Duration { return 200 * time.Millisecond },
		burn:     func(time.Duration) {},
		onServed: tr.served,
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.work(ctx) })
	for srv.served.Load() < 200 {
		runtime.Gosched()
	}
	cancel()
	wg.Wait()
	if err := tr.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := intake.Snapshot().Containers["shield/victim"]
	want := map[string][2]float64{"p50": {got.P50Ms, 99}, "p95": {got.P95Ms, 189}, "p99": {got.P99Ms, 197}, "max": {got.MaxMs, 199}}
	if got.Count != 200 || got.Errors != 0 {
		t.Fatalf("victim: %d spans, %d errors; want 200, 0", got.Count, got.Errors)
	}
	for name, v := range want {
		if math.Abs(v[0]-v[1]) > 1e-3 {
			t.Errorf("%s = %g ms, want %g", name, v[0], v[1])
		}
	}
}

func TestRunWithAnEndpointSendsASpanForEveryUnitServed(t *testing.T) {
	intake := startAgentIntake(t)
	cfg := config{
		sched:    schedule{load: demand.Sine{Base: 0.1, Amplitude: 0.05, PeriodSeconds: 1}, unit: time.Millisecond},
		tick:     50 * time.Millisecond,
		duration: 300 * time.Millisecond,
		workers:  1,
		reports:  true,
		tracing:  tracingConfig{endpoint: intake.Addrs().OTLPGRPC, service: testGUID},
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out); err != nil {
		t.Fatal(err)
	}
	reported := 0.0
	for dec := json.NewDecoder(&out); dec.More(); {
		var r report
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		reported += r.Served
	}
	// The reports stop at the last whole tick; spans cover every unit,
	// those of the last partial tick too.
	got := intake.Snapshot().Containers["shield/victim"]
	if reportedUnits := int64(math.Round(reported / cfg.sched.unit.Seconds())); got.Count < reportedUnits || reportedUnits == 0 {
		t.Errorf("%d spans for %d units reported served", got.Count, reportedUnits)
	}
	if got.P50Ms < 1 {
		t.Errorf("median latency %g ms, less than the 1 ms of CPU a unit takes", got.P50Ms)
	}
}

// BenchmarkServedSpan is what tracing adds to each unit served (the unit
// itself burns 1 ms by default): finding its arrival, making the span and
// queueing it for the batch exporter, which sends to a loopback intake.
func BenchmarkServedSpan(b *testing.B) {
	intake := startAgentIntake(b)
	tr, err := newTracer(context.Background(), tracingConfig{endpoint: intake.Addrs().OTLPGRPC, service: testGUID}, testSchedule, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := range b.N {
		at := time.Duration(i) * time.Millisecond
		unit := max(testSchedule.arrivedUnits(at)-1, 0)
		tr.served(unit, at, at+time.Millisecond)
	}
	b.StopTimer()
	if err := tr.shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}
