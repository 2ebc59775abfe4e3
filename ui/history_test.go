package ui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

func TestRingKeepsTheLatestInOrder(t *testing.T) {
	r := newRing[int](3)
	if _, ok := r.last(); ok {
		t.Fatal("an empty ring has a last value")
	}
	for i := 1; i <= 5; i++ {
		r.push(i)
	}
	if got := r.all(); len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Fatalf("all = %v, want [3 4 5]", got)
	}
	if last, _ := r.last(); *last != 5 {
		t.Fatalf("last = %d, want 5", *last)
	}
}

// One sample per observation, bounded per app; a decision fills in the
// samples of the observation it was made on; a gone app is forgotten.
func TestHistoryRecordsSamplesAndDecisions(t *testing.T) {
	h := newHistory("n1", 4)
	view := state.NewView("n1")
	view.Apps = map[string]state.AppSpec{"web": {Name: "web"}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	quota := 0.5
	for i := range 6 {
		view.Observations = map[string]state.Observation{"n1": {Node: "n1", Time: start.Add(time.Duration(i) * time.Second), IntervalSeconds: 1,
			Containers: []state.ContainerObservation{{ID: "web/api", App: "web", CPUUsageCores: 0.25, RunQueueWaitCores: 0.25, NetTxBytes: 125000}}}}
		h.record(&view, start)
		h.record(&view, start) // the same observation again adds nothing
	}
	samples := h.samples("web")
	if len(samples) != 4 {
		t.Fatalf("%d samples, want the ring's 4", len(samples))
	}
	last := samples[3].Containers["web/api"]
	if last.WantedCores != 0.5 || last.TxMbit != 1 || last.Decided.CPUQuotaCores != nil {
		t.Fatalf("last sample %+v, want 0.5 cores wanted, 1 Mbit/s and no decision yet", last)
	}
	view.Decisions = map[string]state.Decision{"n1": {Revision: 9, Containers: map[string]state.ContainerDecision{"web/api": {CPUQuotaCores: &quota}}}}
	h.record(&view, start)
	if got := h.samples("web")[3].Containers["web/api"].Decided.CPUQuotaCores; got == nil || *got != quota {
		t.Fatalf("decided quota of the last sample = %v, want %g", got, quota)
	}
	if samples[3].Containers["web/api"].Decided.CPUQuotaCores != nil {
		t.Fatal("a copy handed out earlier changed under its reader")
	}
	if d := h.recentDecisions(); len(d) != 1 || d[0].Revision != 9 {
		t.Fatalf("decisions %+v, want the one at revision 9", d)
	}
	view.Apps = map[string]state.AppSpec{}
	view.Observations = map[string]state.Observation{"n1": {Node: "n1", Time: start.Add(time.Hour)}}
	h.record(&view, start)
	if got := h.samples("web"); got != nil {
		t.Fatalf("a deleted app keeps %d samples", len(got))
	}
}

func TestRunsSplitAtGaps(t *testing.T) {
	nan := math.NaN()
	got := runs([]float64{nan, 1, 2, nan, 3})
	if len(got) != 2 || got[0] != [2]int{1, 3} || got[1] != [2]int{4, 5} {
		t.Fatalf("runs = %v, want [1,3) and [4,5)", got)
	}
}

// Calls are counted between containers, from the caller's span to the
// callee's; spans within one container are no call.
func TestCallEdgesAndTreeOrder(t *testing.T) {
	trace := traces.TraceSummary{Tree: []traces.SpanSummary{
		{ID: "a", Name: "GET /", Container: "shop/front", DurationMs: 10},
		{ID: "b", Parent: "a", Name: "render", Container: "shop/front", DurationMs: 4},
		{ID: "c", Parent: "b", Name: "GET /cart", Container: "shop/cart", DurationMs: 3},
		{ID: "d", Parent: "a", Name: "GET /price", Container: "shop/cart", DurationMs: 1},
	}}
	edges := callEdges([]traces.TraceSummary{trace, trace})
	if len(edges) != 1 || edges[0].From != "shop/front" || edges[0].To != "shop/cart" || edges[0].Calls != 4 || edges[0].MeanMs != 2 {
		t.Fatalf("edges %+v, want front -> cart, 4 calls of 2 ms", edges)
	}
	var order []string
	for _, row := range treeOrder(trace.Tree) {
		order = append(order, row.span.ID+string(rune('0'+row.depth)))
	}
	if got := strings.Join(order, " "); got != "a0 b1 c2 d1" {
		t.Fatalf("tree order %s, want a0 b1 c2 d1", got)
	}
}
