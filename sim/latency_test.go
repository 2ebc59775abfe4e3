package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"

	"github.com/sluice-io/sluice/state"
)

func nearMs(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func checkStats(t *testing.T, what string, got *state.LatencyStats, want state.LatencyStats) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no latency, want %+v", what, want)
	}
	if got.Count != want.Count || got.Errors != 0 || !nearMs(got.P50Ms, want.P50Ms) || !nearMs(got.P95Ms, want.P95Ms) ||
		!nearMs(got.P99Ms, want.P99Ms) || !nearMs(got.MaxMs, want.MaxMs) {
		t.Errorf("%s: latency %+v, want %+v", what, *got, want)
	}
}

// A queue that keeps up serves each request as it comes, at a full core.
func TestUnloadedQueueLatencyIsServiceTime(t *testing.T) {
	q := WorkQueue{RequestCPUSeconds: 0.005}
	// 0.5 cores for 0.25 s in 5 ms requests: 25 of them, all served.
	_, got := q.Serve(0.5*0.25, 0.5, 0.25)
	checkStats(t, "5 ms requests", got, state.LatencyStats{Count: 25, P50Ms: 5, P95Ms: 5, P99Ms: 5, MaxMs: 5})

	var byDefault WorkQueue
	_, got = byDefault.Serve(0.2*0.25, 0.2, 0.25)
	checkStats(t, "default requests", got, state.LatencyStats{Count: 50, P50Ms: 1, P95Ms: 1, P99Ms: 1, MaxMs: 1})
}

// Held back: 0.1 CPU-s queued, 0.8 cores arriving, 0.5 served, 5 ms
// requests. 40 requests arrive at t_k = (k+1)·6.25 ms; the work ahead of
// one is 0.1 + 0.3·t_k, served at 0.5 cores, then the request itself:
// latency = 0.2 + 0.6·t_k + 0.01 s, from 213.75 ms to 360 ms.
func TestLatencyHeldBackByHand(t *testing.T) {
	q := WorkQueue{Backlog: 0.1, RequestCPUSeconds: 0.005}
	work, got := q.Serve(0.2, 0.5, 0.25)
	if math.Abs(work.Backlog-0.175) > 1e-12 {
		t.Fatalf("backlog %g, want 0.175", work.Backlog)
	}
	checkStats(t, "held back", got, state.LatencyStats{
		Count: 40,
		P50Ms: 285,   // rank 20: t = 0.125 s
		P95Ms: 352.5, // rank ⌈38⌉ = 38: t = 0.2375 s
		P99Ms: 360,   // rank ⌈39.6⌉ = 40: the last
		MaxMs: 360,
	})
}

// Draining: 0.02 CPU-s queued, 0.3 cores arriving, all of it served, so
// the queue runs at a full core while it has work and drains at 0.7. 15
// requests of 5 ms arrive at t_k = (k+1)/60 s; only the first still finds
// work ahead of it, 0.02 − 0.7/60, and takes 8.333 + 5 ms. Latency falls
// over the tick, so the ranks read it backwards.
func TestLatencyDrainingByHand(t *testing.T) {
	q := WorkQueue{Backlog: 0.02, RequestCPUSeconds: 0.005}
	arrived := 0.3 * 0.25
	work, got := q.Serve(arrived, (0.02+arrived)/0.25, 0.25)
	if work.Backlog != 0 {
		t.Fatalf("backlog %g, want none", work.Backlog)
	}
	checkStats(t, "draining", got, state.LatencyStats{Count: 15, P50Ms: 5, P95Ms: 13.333, P99Ms: 13.333, MaxMs: 13.333})
}

// Requests straddle ticks: 2.5 requests' worth a tick is 2, then 3.
func TestLatencyCarriesPartialRequests(t *testing.T) {
	q := WorkQueue{RequestCPUSeconds: 0.005}
	var counts []int64
	for range 4 {
		_, got := q.Serve(0.0125, 0.05, 0.25)
		counts = append(counts, got.Count)
	}
	if !slices.Equal(counts, []int64{2, 3, 2, 3}) {
		t.Errorf("requests per tick %v, want [2 3 2 3]", counts)
	}
	var idle WorkQueue
	if _, got := idle.Serve(0, 0, 0.25); got != nil {
		t.Errorf("a tick without arrivals has latency %+v, want nil", *got)
	}
}

func TestLatencyGrowsWithBacklog(t *testing.T) {
	previous := state.LatencyStats{}
	for _, backlog := range []float64{0, 0.01, 0.05, 0.2, 1} {
		q := WorkQueue{Backlog: backlog, RequestCPUSeconds: 0.005}
		_, got := q.Serve(0.8*0.25, 0.5, 0.25)
		if got.P50Ms <= previous.P50Ms || got.P99Ms <= previous.P99Ms {
			t.Errorf("backlog %g: p50 %g p99 %g, not above %g and %g", backlog, got.P50Ms, got.P99Ms, previous.P50Ms, previous.P99Ms)
		}
		previous = *got
	}
}

// A queue that gets no CPU at all reports the cap, not infinity, which
// JSON could not carry.
func TestLatencyOfAStarvedQueueIsCapped(t *testing.T) {
	q := WorkQueue{Backlog: 0.1}
	_, got := q.Serve(0.01, 0, 0.25)
	cap := float64(MaxLatency.Milliseconds())
	checkStats(t, "starved", got, state.LatencyStats{Count: 10, P50Ms: cap, P95Ms: cap, P99Ms: cap, MaxMs: cap})
}

// The quantiles read at their ranks agree with sorting every request's
// latency, whatever the queue's state.
func TestLatencyRanksAgreeWithSorting(t *testing.T) {
	check := func(seed uint64) bool {
		r := rand.New(rand.NewPCG(seed, 1))
		q := queueTick{
			backlog: r.Float64() * 0.5 * float64(r.IntN(2)), arrived: r.Float64() * 0.5, usage: r.Float64() * 2,
			seconds: 0.25, request: 0.0005 + r.Float64()*0.01, partial: r.Float64(), heldBack: r.IntN(2) == 0,
		}
		got, _ := q.latency()
		want := sortedLatency(q)
		if got == nil || want == nil {
			return (got == nil) == (want == nil)
		}
		if *got != *want {
			t.Logf("%+v: got %+v, sorting gives %+v", q, *got, *want)
			return false
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 2000}); err != nil {
		t.Error(err)
	}
}

// sortedLatency is the naive model: every request's latency, sorted,
// nearest-rank quantiles.
func sortedLatency(q queueTick) *state.LatencyStats {
	units := q.partial + q.arrived/q.request
	n := int(math.Floor(units + 1e-9))
	if n < 1 {
		return nil
	}
	rate := q.usage
	if !q.heldBack {
		rate = max(rate, 1)
	}
	arrivalRate := q.arrived / q.seconds
	latencies := make([]float64, n)
	for k := range n {
		arrival := min(max(0, (float64(k)+1-q.partial)*q.request/arrivalRate), q.seconds)
		ahead := max(0, q.backlog+(arrivalRate-rate)*arrival)
		latencies[k] = MaxLatency.Seconds()
		if rate > 0 {
			latencies[k] = min(ahead/rate+q.request/min(rate, 1), MaxLatency.Seconds())
		}
	}
	slices.Sort(latencies)
	at := func(p int) float64 { return milliseconds(latencies[min(max((p*n+99)/100, 1), n)-1]) }
	return &state.LatencyStats{Count: int64(n), P50Ms: at(50), P95Ms: at(95), P99Ms: at(99), MaxMs: at(100)}
}

// With its CPU halved under a constant demand above the half, the victim
// falls further behind every tick, and every tick's p99 is worse.
func TestHalvedCPURaisesP99EveryTick(t *testing.T) {
	n := newNode(t, 2)
	spec := victimSpec()
	spec.Demand = &state.DemandSpec{Kind: "constant", Value: 0.6, RequestCPUMs: 5}
	victim := create(t, n, "victim", spec)
	for k := range 8 {
		obs := n.Tick(tick)
		got := containerObs(t, obs, "victim/sineload").Latency
		checkStats(t, "alone", got, state.LatencyStats{Count: 30, P50Ms: 5, P95Ms: 5, P99Ms: 5, MaxMs: 5})
		if k == 0 && (n.LastTick()[0].Latency == got || *n.LastTick()[0].Latency != *got) {
			t.Fatalf("the observation's latency %+v is not a copy of the tick's %+v", got, n.LastTick()[0].Latency)
		}
	}
	half := 0.3
	if err := n.SetCPU(context.Background(), victim, state.CPUResources{QuotaCores: &half}); err != nil {
		t.Fatal(err)
	}
	previous := 5.0
	for k := range 40 {
		obs := n.Tick(tick)
		got := containerObs(t, obs, "victim/sineload").Latency
		if got == nil || got.P99Ms <= previous {
			t.Fatalf("tick %d after the halving: latency %+v, want p99 above %g ms", k, got, previous)
		}
		previous = got.P99Ms
	}
	// 40 ticks of 0.3 cores falling behind: 3 CPU-s queued, 10 s at 0.3 cores.
	if previous < 10_000 {
		t.Errorf("p99 after 10 s at half the CPU = %g ms, want over 10 s", previous)
	}
}
