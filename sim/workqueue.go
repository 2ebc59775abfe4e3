package sim

import "github.com/sluice-io/sluice/state"

// WorkQueue is a latency-critical service as the simulator sees it: work
// arrives as CPU-seconds at its demand generator's rate, waits in a queue
// and is served by the CPU the container gets. What it cannot serve in a
// tick stays queued for the next, which is how a service's latency grows
// while a neighbour holds its CPU.
//
// The work comes in requests of RequestCPUSeconds each, so that the queue
// can say how long its requests took (queueTick.latency).
type WorkQueue struct {
	// Backlog is the work still queued, in CPU-seconds.
	Backlog float64
	// RequestCPUSeconds is the CPU time one request takes; 0 means
	// DefaultRequestCPU.
	RequestCPUSeconds float64
	// partial is the part of a request that has arrived, not yet a whole one.
	partial float64
}

// Offer is the CPU the queue asks for over a tick of dtSeconds in which
// arrived CPU-seconds come in: enough to serve everything it holds, but no
// more than the cores it may run on.
func (q WorkQueue) Offer(arrived, dtSeconds float64, cores int) float64 {
	if dtSeconds <= 0 {
		return 0
	}
	return min((q.Backlog+arrived)/dtSeconds, float64(cores))
}

// Serve settles a tick in which the container ran usage cores for
// dtSeconds, and returns the tick's account of the work and the latency
// of the requests that arrived in it (nil when none did).
func (q *WorkQueue) Serve(arrived, usage, dtSeconds float64) (state.WorkReport, *state.LatencyStats) {
	start := q.Backlog
	served := min(usage*dtSeconds, q.Backlog+arrived)
	q.Backlog = max(0, q.Backlog+arrived-served)
	tick := queueTick{
		backlog: start, arrived: arrived, usage: usage, seconds: dtSeconds,
		request: q.requestCPU(), partial: q.partial, heldBack: q.Backlog > backlogEpsilon,
	}
	var latency *state.LatencyStats
	latency, q.partial = tick.latency()
	return state.WorkReport{Arrived: arrived, Served: served, Backlog: q.Backlog}, latency
}

func (q WorkQueue) requestCPU() float64 {
	if q.RequestCPUSeconds > 0 {
		return q.RequestCPUSeconds
	}
	return DefaultRequestCPU.Seconds()
}
