package traces

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-io/sluice/state"
)

// Two apps: "shop" with a frontend calling a backend, and "batch".
var testBindings = map[string]Binding{
	"frontend-a1b2": {App: "shop", Container: "shop/frontend"},
	"backend-c3d4":  {App: "shop", Container: "shop/backend"},
	"worker-e5f6":   {App: "batch", Container: "batch/worker"},
}

func mapResolver(m map[string]Binding) Resolver {
	return func(service string) (Binding, bool) { b, ok := m[service]; return b, ok }
}

func newTestCore(t *testing.T, b bounds) *core {
	t.Helper()
	m, err := newMetrics(nil, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	if b.lingerTicks == 0 {
		b.lingerTicks = 2
	}
	setDefault(&b.maxOpenTraces, 1000)
	setDefault(&b.maxOpenSpans, 10000)
	setDefault(&b.maxSamples, 10000)
	setDefault(&b.recentPerApp, 10)
	return newCore(b, mapResolver(testBindings), m, 1)
}

var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func traceID(n uint64) TraceID {
	var id TraceID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func spanID(n uint64) SpanID {
	var id SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

// span makes a span of trace tr; parent 0 makes a root.
func span(tr, id, parent uint64, service string, kind Kind, startMs, durMs float64) Span {
	s := Span{Trace: traceID(tr), ID: spanID(id), Service: service, Name: "op", Kind: kind,
		Start: epoch.Add(ms(startMs)), Duration: ms(durMs)}
	if parent != 0 {
		s.Parent = spanID(parent)
	}
	return s
}

func TestCoreContainerLatencyCountsOnlyServerSpans(t *testing.T) {
	c := newTestCore(t, bounds{})
	var spans []Span
	for i, d := range []float64{4, 1, 3, 2} {
		s := span(uint64(i+1), 1, 0, "backend-c3d4", KindServer, 0, d)
		s.Error = i == 0
		spans = append(spans, s)
	}
	// A client span of the frontend is not a request it served.
	spans = append(spans, span(9, 2, 0, "frontend-a1b2", KindClient, 0, 100))
	c.add(spans)
	got := c.snapshot().Containers
	want := map[string]state.LatencyStats{
		"shop/backend": {Count: 4, Errors: 1, P50Ms: 2, P95Ms: 4, P99Ms: 4, MaxMs: 4},
	}
	if len(got) != len(want) || got["shop/backend"] != want["shop/backend"] {
		t.Errorf("containers = %+v, want %+v", got, want)
	}
	if next := c.snapshot().Containers; len(next) != 0 {
		t.Errorf("a tick without spans reports %+v, want nothing", next)
	}
}

func TestCoreCountsSpansOfUnknownServicesAsDropped(t *testing.T) {
	c := newTestCore(t, bounds{})
	c.add([]Span{
		span(1, 1, 0, "stranger", KindServer, 0, 1),
		span(2, 1, 0, "", KindServer, 0, 1),
		span(3, 1, 0, "backend-c3d4", KindServer, 0, 1),
	})
	if got := testutil.ToFloat64(c.metrics.dropped.WithLabelValues(DropUnknownService)); got != 2 {
		t.Errorf("unknown-service drops = %g, want 2", got)
	}
	if got := c.snapshot().Containers["shop/backend"].Count; got != 1 {
		t.Errorf("backend count = %d, want 1", got)
	}
}

// The frontend's root span and the backend's child arrive in different
// ticks, in either order: the trace counts once, with the root's duration,
// after the wait for late spans.
func TestCoreAssemblesATraceAcrossContainersAndTicks(t *testing.T) {
	for _, rootFirst := range []bool{true, false} {
		c := newTestCore(t, bounds{lingerTicks: 2})
		root := span(7, 1, 0, "frontend-a1b2", KindServer, 0, 30)
		child := span(7, 2, 1, "backend-c3d4", KindServer, 5, 20)
		first, second := root, child
		if !rootFirst {
			first, second = child, root
		}
		c.add([]Span{first})
		if apps := c.snapshot().Apps; len(apps) != 0 {
			t.Fatalf("rootFirst=%v: trace closed after one tick: %+v", rootFirst, apps)
		}
		c.add([]Span{second})
		if apps := c.snapshot().Apps; len(apps) != 0 {
			t.Fatalf("rootFirst=%v: trace closed right after its latest span: %+v", rootFirst, apps)
		}
		apps := c.snapshot().Apps
		want := state.LatencyStats{Count: 1, P50Ms: 30, P95Ms: 30, P99Ms: 30, MaxMs: 30}
		if apps["shop"] != want || len(apps) != 1 {
			t.Errorf("rootFirst=%v: apps = %+v, want shop %+v", rootFirst, apps, want)
		}
		recent := c.recentTraces("shop", 0)
		if len(recent) != 1 {
			t.Fatalf("rootFirst=%v: %d recent traces, want 1", rootFirst, len(recent))
		}
		r := recent[0]
		if !r.Complete || r.Spans != 2 || r.RootContainer != "shop/frontend" ||
			len(r.Containers) != 2 || r.Containers[0] != "shop/backend" || r.DurationMs != 30 {
			t.Errorf("rootFirst=%v: summary = %+v", rootFirst, r)
		}
	}
}

// When the caller of the app is not traced, the app's latency is the
// extent of its topmost spans: here two calls into the frontend from the
// same untraced client, 0–10 ms and 15–40 ms.
func TestCoreTraceWithoutItsRootSpansItsTopmostSpans(t *testing.T) {
	c := newTestCore(t, bounds{lingerTicks: 1})
	c.add([]Span{
		span(5, 2, 99, "frontend-a1b2", KindServer, 0, 10),
		span(5, 3, 99, "frontend-a1b2", KindServer, 15, 25),
		span(5, 4, 3, "backend-c3d4", KindServer, 16, 20),
	})
	got := c.snapshot().Apps["shop"]
	if got.Count != 1 || got.MaxMs != 40 {
		t.Errorf("shop = %+v, want one trace of 40 ms", got)
	}
	if r := c.recentTraces("shop", 1); len(r) != 1 || r[0].Complete {
		t.Errorf("summary %+v, want one incomplete trace", r)
	}
}

func TestCoreOpenTraceBoundClosesTheOldestEarly(t *testing.T) {
	c := newTestCore(t, bounds{maxOpenTraces: 3, lingerTicks: 5})
	for tr := uint64(1); tr <= 10; tr++ {
		c.add([]Span{span(tr, 1, 0, "worker-e5f6", KindServer, 0, float64(tr))})
		if len(c.open) > 3 {
			t.Fatalf("%d open traces, bound 3", len(c.open))
		}
	}
	if got := testutil.ToFloat64(c.metrics.tracesEvicted); got != 7 {
		t.Errorf("evicted = %g, want 7", got)
	}
	// The evicted traces still count: nothing is lost, only closed early.
	if got := c.snapshot().Apps["batch"]; got.Count != 7 || got.MaxMs != 7 {
		t.Errorf("batch = %+v, want the 7 oldest traces (max 7 ms)", got)
	}
	c.flush()
	if got := c.snapshot().Apps["batch"]; got.Count != 3 || got.MaxMs != 10 {
		t.Errorf("after flush batch = %+v, want the 3 newest traces", got)
	}
}

func TestCoreOpenSpanBoundHoldsForOneHugeTrace(t *testing.T) {
	c := newTestCore(t, bounds{maxOpenSpans: 50})
	spans := []Span{span(1, 1, 0, "frontend-a1b2", KindServer, 0, 100)}
	for id := uint64(2); id < 1000; id++ {
		spans = append(spans, span(1, id, 1, "backend-c3d4", KindServer, 1, 1))
	}
	c.add(spans)
	if c.openSpans > 50 {
		t.Errorf("%d spans held, bound 50", c.openSpans)
	}
	c.flush()
	r := c.recentTraces("shop", 1)
	if len(r) != 1 || r[0].Spans != 999 || !r[0].Complete || r[0].DurationMs != 100 {
		t.Errorf("summary %+v, want 999 spans seen and the root's 100 ms", r)
	}
}

func TestCoreRecentTracesAreNewestFirstAndBounded(t *testing.T) {
	c := newTestCore(t, bounds{recentPerApp: 3, lingerTicks: 1})
	for tr := uint64(1); tr <= 5; tr++ {
		c.add([]Span{span(tr, 1, 0, "worker-e5f6", KindServer, 0, float64(tr))})
		c.snapshot()
	}
	got := c.recentTraces("batch", 0)
	if len(got) != 3 || got[0].DurationMs != 5 || got[2].DurationMs != 3 {
		t.Errorf("recent = %+v, want durations 5, 4, 3", got)
	}
	if got := c.recentTraces("batch", 2); len(got) != 2 {
		t.Errorf("limit 2 gave %d", len(got))
	}
	if got := c.recentTraces("nobody", 0); got != nil {
		t.Errorf("unknown app gave %+v", got)
	}
}

func TestSnapshotApplyFillsTheObservation(t *testing.T) {
	obs := state.Observation{Containers: []state.ContainerObservation{{ID: "shop/backend"}, {ID: "batch/worker"}}}
	Snapshot{
		Containers: map[string]state.LatencyStats{"shop/backend": {Count: 3, P99Ms: 9}},
		Apps:       map[string]state.LatencyStats{"shop": {Count: 2, P99Ms: 12}},
	}.Apply(&obs)
	if l := obs.Containers[0].Latency; l == nil || l.Count != 3 || l.P99Ms != 9 {
		t.Errorf("backend latency = %+v", l)
	}
	if obs.Containers[1].Latency != nil {
		t.Errorf("worker without spans got latency %+v", obs.Containers[1].Latency)
	}
	if a := obs.Apps["shop"].Latency; a == nil || a.Count != 2 || a.P99Ms != 12 {
		t.Errorf("shop latency = %+v", a)
	}
}
