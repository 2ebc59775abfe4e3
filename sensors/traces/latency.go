package traces

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/sluice-io/sluice/state"
)

// latencyWindow gathers one tick's latencies of one container or app.
// Quantiles are exact over the tick's samples: at the rates a node sees
// (thousands of requests a second) sorting a tick's worth is cheap, and
// exact values are what a test can check by hand. To keep memory bounded
// at any rate, past limit samples it keeps a uniform random sample of
// them (reservoir sampling, seeded), so quantiles turn into estimates
// while Count, Errors and the maximum stay exact.
type latencyWindow struct {
	count, errors int64
	max           time.Duration
	samples       []time.Duration
	limit         int
}

func (w *latencyWindow) add(d time.Duration, failed bool, rng *rand.Rand) {
	w.count++
	if failed {
		w.errors++
	}
	w.max = max(w.max, d)
	if len(w.samples) < w.limit {
		w.samples = append(w.samples, d)
		return
	}
	if j := rng.Int64N(w.count); j < int64(w.limit) {
		w.samples[j] = d
	}
}

// stats summarises the window; it sorts the samples in place.
func (w *latencyWindow) stats() state.LatencyStats {
	slices.Sort(w.samples)
	return state.LatencyStats{
		Count:  w.count,
		Errors: w.errors,
		P50Ms:  milliseconds(nearestRank(w.samples, 500)),
		P95Ms:  milliseconds(nearestRank(w.samples, 950)),
		P99Ms:  milliseconds(nearestRank(w.samples, 990)),
		MaxMs:  milliseconds(w.max),
	}
}

func (w *latencyWindow) reset() {
	w.count, w.errors, w.max = 0, 0, 0
	w.samples = w.samples[:0]
}

// nearestRank is the smallest sample with at least perMille/1000 of the
// samples at or below it (the nearest-rank quantile): p99 of 100 samples
// is the 99th smallest. It is in integers so that p95 of 100 is the 95th,
// not whatever 0.95·100 rounds to.
func nearestRank(sorted []time.Duration, perMille int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := (n*perMille + 999) / 1000
	return sorted[max(rank, 1)-1]
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
