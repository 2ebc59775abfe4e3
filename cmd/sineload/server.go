package main

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// server is the victim's work queue. Arrivals come from the schedule and
// the wall clock; workers claim arrived units one at a time and serve each
// by burning a unit of CPU. When the workers get less CPU than the schedule
// offers, claimed falls behind arrived and the difference is the backlog,
// exactly as in a service whose requests queue up.
type server struct {
	sched   schedule
	elapsed func() time.Duration
	// burn consumes d of the calling thread's CPU time.
	burn    func(d time.Duration)
	claimed atomic.Int64
	served  atomic.Int64
	// onServed, when set, is told about every unit served, with the offsets
	// from the start at which it was taken and finished. It is where a
	// per-request latency account (a server span per unit) plugs in.
	onServed func(unit int64, started, finished time.Duration)
}

// Idle workers poll at least this often, so a stop request or a burst after
// a trough is noticed quickly, and at most this often, so idling is cheap.
const (
	minIdleWait = 200 * time.Microsecond
	maxIdleWait = 50 * time.Millisecond
)

// work serves units until ctx ends. It locks its goroutine to one thread
// because burn measures the thread's own CPU clock.
func (s *server) work(ctx context.Context) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for ctx.Err() == nil {
		now := s.elapsed()
		unit, ok := s.claim(s.sched.arrivedUnits(now))
		if !ok {
			time.Sleep(s.sched.waitForNext(now, minIdleWait, maxIdleWait))
			continue
		}
		s.burn(s.sched.unit)
		s.served.Add(1)
		if s.onServed != nil {
			s.onServed(unit, now, s.elapsed())
		}
	}
}

// claim takes the next unit if one has arrived and nobody took it yet.
func (s *server) claim(arrived int64) (int64, bool) {
	for {
		next := s.claimed.Load()
		if next >= arrived {
			return 0, false
		}
		if s.claimed.CompareAndSwap(next, next+1) {
			return next, true
		}
	}
}

// spinSink keeps the compiler from discarding the spin loop's result.
var spinSink atomic.Uint64

// burnCPU spins until clock, the calling thread's CPU clock, has advanced
// by d. Measuring CPU time rather than wall time is what makes a CFS quota
// or a competing process slow the service down: a unit takes as long as it
// takes to get d of CPU.
func burnCPU(d time.Duration, clock func() time.Duration) {
	start := clock()
	x := uint64(start)
	for clock()-start < d {
		for range 2000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	spinSink.Store(x)
}
