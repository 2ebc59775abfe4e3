package sim

import (
	"math"
	"time"

	"github.com/sluice-io/sluice/state"
)

// DefaultRequestCPU is the CPU time one request takes when the container's
// demand does not set request_cpu_ms: sineload's default unit, so that the
// simulated victim's requests are the size of the real one's.
const DefaultRequestCPU = time.Millisecond

// MaxLatency caps a projected latency. A request queued behind a service
// that gets no CPU at all would wait for ever, which neither JSON nor a
// plot can hold; a minute is far beyond any SLO, so nothing is lost.
const MaxLatency = time.Minute

// backlogEpsilon is the backlog, in CPU-seconds, below which a queue counts
// as drained: the CPU model hands a queue exactly what it asked for, and
// the float residue of serving it must not count as being held back.
const backlogEpsilon = 1e-9

// queueTick is what the latency model knows of one tick of a work queue.
type queueTick struct {
	backlog float64 // CPU-seconds queued at the tick's start
	arrived float64 // CPU-seconds that arrived, evenly over the tick
	usage   float64 // cores the queue got
	seconds float64 // the tick's length
	request float64 // CPU-seconds one request takes
	// partial is the part of a request, in requests, that had arrived
	// before the tick; it completes early in this one.
	partial float64
	// heldBack is set when work was left over at the tick's end: the
	// queue had work and ran at usage the whole tick.
	heldBack bool
}

// latency computes the latency of the requests that arrived over the tick,
// and the partial request carried into the next one. A request arrives
// when the work that has arrived passes a whole number of requests, as in
// sineload. Its latency is the time to serve the backlog ahead of it, then
// itself, at the rate the queue gets while it has work:
//
//   - held back (work left at the tick's end), the queue was busy all tick
//     and ran at usage;
//   - otherwise it got all it asked for, and while it had work it ran at a
//     full core (a woken service preempts a CPU hog under CFS), or at its
//     usage where that is more: the fluid model cannot say more within a
//     tick, and taking usage would make an idle service's requests slow.
//
// The backlog ahead of a request arriving at t is the fluid queue
// max(0, backlog + (arrival rate − rate)·t); the request itself takes
// request / min(rate, 1) seconds, as one request runs on one CPU. The
// latency is projected at this tick's rate even where the request finishes
// in a later one, and capped at MaxLatency.
//
// The latency is linear in the arrival time up to the queue's draining, so
// it is monotone over the tick's requests: the nearest-rank quantiles are
// read at their ranks directly, exactly and in constant time. It returns
// nil when no request arrived.
func (q queueTick) latency() (*state.LatencyStats, float64) {
	units := q.partial
	if q.request > 0 && q.arrived > 0 {
		units += q.arrived / q.request
	}
	// The epsilon keeps a whole number of requests from rounding down.
	whole := math.Floor(units + 1e-9)
	partial := max(0, units-whole)
	if whole < 1 || q.seconds <= 0 {
		return nil, partial
	}
	m := latencyModel{q: q, arrivalRate: q.arrived / q.seconds, rate: q.usage, count: int64(whole)}
	if !q.heldBack {
		m.rate = max(q.usage, 1)
	}
	return m.stats(), partial
}

// latencyModel evaluates the latency of a tick's k-th request.
type latencyModel struct {
	q                 queueTick
	arrivalRate, rate float64 // cores
	count             int64
}

// at is the latency of request k (from 0, in arrival order), in seconds.
func (m latencyModel) at(k int64) float64 {
	if m.rate <= 0 {
		return MaxLatency.Seconds()
	}
	arrival := min(max(0, (float64(k+1)-m.q.partial)*m.q.request/m.arrivalRate), m.q.seconds)
	ahead := max(0, m.q.backlog+(m.arrivalRate-m.rate)*arrival)
	return min(ahead/m.rate+m.q.request/min(m.rate, 1), MaxLatency.Seconds())
}

// rank is the latency of the rank-th smallest request (from 1): latencies
// rise over the tick when work arrives faster than it is served, and fall
// (or stay) otherwise.
func (m latencyModel) rank(rank int64) float64 {
	if m.arrivalRate >= m.rate {
		return m.at(rank - 1)
	}
	return m.at(m.count - rank)
}

// quantile is the nearest-rank p-th percentile: the ⌈p·n/100⌉-th smallest.
func (m latencyModel) quantile(p int64) float64 {
	return m.rank(min(max((p*m.count+99)/100, 1), m.count))
}

func (m latencyModel) stats() *state.LatencyStats {
	return &state.LatencyStats{
		Count: m.count,
		P50Ms: milliseconds(m.quantile(50)),
		P95Ms: milliseconds(m.quantile(95)),
		P99Ms: milliseconds(m.quantile(99)),
		MaxMs: milliseconds(m.rank(m.count)),
	}
}

// milliseconds rounds to the microsecond: finer says nothing a fluid model
// can vouch for, and it keeps observations short.
func milliseconds(seconds float64) float64 { return math.Round(seconds*1e6) / 1e3 }
