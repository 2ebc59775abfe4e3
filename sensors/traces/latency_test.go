package traces

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func TestLatencyStatsAgreeWithHandComputedQuantiles(t *testing.T) {
	cases := []struct {
		name   string
		ms     []float64
		errors int
		want   state.LatencyStats
	}{{
		// Sorted: 1 2 3 5 7 9 12 18 30 45. p50 is the 5th (ceil 0.5·10),
		// p95 and p99 the 10th.
		name: "ten", ms: []float64{12, 3, 7, 45, 9, 1, 30, 5, 18, 2}, errors: 2,
		want: state.LatencyStats{Count: 10, Errors: 2, P50Ms: 7, P95Ms: 45, P99Ms: 45, MaxMs: 45},
	}, {
		// 11 samples: p50 is the 6th (ceil 5.5), p95 the 11th (ceil 10.45,
		// where rounding would give the 10th), p99 the 11th.
		name: "eleven", ms: oneToN(11),
		want: state.LatencyStats{Count: 11, P50Ms: 6, P95Ms: 11, P99Ms: 11, MaxMs: 11},
	}, {
		// 1..100 ms: the k-th percentile is k ms by nearest rank.
		name: "hundred", ms: oneToN(100),
		want: state.LatencyStats{Count: 100, P50Ms: 50, P95Ms: 95, P99Ms: 99, MaxMs: 100},
	}, {
		// 1..1000 ms in 1 ms steps: p99 is the 990th.
		name: "thousand", ms: oneToN(1000),
		want: state.LatencyStats{Count: 1000, P50Ms: 500, P95Ms: 950, P99Ms: 990, MaxMs: 1000},
	}, {
		name: "one", ms: []float64{0.25},
		want: state.LatencyStats{Count: 1, P50Ms: 0.25, P95Ms: 0.25, P99Ms: 0.25, MaxMs: 0.25},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			w := &latencyWindow{limit: 1 << 20}
			order := rng.Perm(len(c.ms))
			for i, j := range order {
				w.add(ms(c.ms[j]), i < c.errors, rng)
			}
			if got := w.stats(); got != c.want {
				t.Errorf("stats = %+v, want %+v", got, c.want)
			}
		})
	}
}

func oneToN(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestLatencyWindowPastItsSampleBoundKeepsCountAndMaxExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := &latencyWindow{limit: 500}
	for i := range 100_000 {
		w.add(ms(float64(i%1000+1)), i%10 == 0, rng)
	}
	if len(w.samples) != 500 {
		t.Fatalf("kept %d samples, want the bound 500", len(w.samples))
	}
	got := w.stats()
	if got.Count != 100_000 || got.Errors != 10_000 || got.MaxMs != 1000 {
		t.Errorf("count %d errors %d max %g, want 100000, 10000, 1000", got.Count, got.Errors, got.MaxMs)
	}
	// Uniform 1..1000 ms: a uniform sample of 500 puts p50 near 500 ms.
	if got.P50Ms < 400 || got.P50Ms > 600 {
		t.Errorf("sampled p50 = %g ms, want about 500", got.P50Ms)
	}
}

func TestLatencyWindowResetStartsAnEmptyTick(t *testing.T) {
	w := &latencyWindow{limit: 10}
	w.add(ms(5), true, nil)
	w.reset()
	if got := w.stats(); got != (state.LatencyStats{}) {
		t.Errorf("stats after reset = %+v, want zero", got)
	}
}
