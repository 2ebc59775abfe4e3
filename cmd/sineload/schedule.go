package main

import (
	"fmt"
	"math"
	"time"

	"github.com/sluice-io/sluice/sim/demand"
)

// schedule is the victim's offered load: work arrives at the rate its
// demand gives, in cores (a sine by default; any shape the simulator
// knows). It is a pure function of the elapsed time, so the arrivals of a
// run can be recomputed from its start alone and tested without a clock.
type schedule struct {
	load demand.Offered
	unit time.Duration
}

func (s schedule) validate() error {
	if s.unit <= 0 {
		return fmt.Errorf("--unit %v must be positive", s.unit)
	}
	return nil
}

// rate is the demand at elapsed time t, in cores.
func (s schedule) rate(t time.Duration) float64 { return s.load.Demand(t) }

// cumulative is the CPU-seconds of work offered in [0, t].
func (s schedule) cumulative(t time.Duration) float64 { return s.load.Offered(t) }

// arrivedUnits is how many whole work units have arrived by t. Work comes
// in units because a service receives requests, not a continuous flow.
func (s schedule) arrivedUnits(t time.Duration) int64 {
	return int64(math.Floor(s.cumulative(t)/s.unit.Seconds() + 1e-9))
}

// waitForNext is how long an idle server should sleep at t before another
// unit can have arrived, bounded to [minWait, maxWait] so that a trough of
// zero demand does not sleep forever and a peak does not spin.
func (s schedule) waitForNext(t time.Duration, minWait, maxWait time.Duration) time.Duration {
	unit := s.unit.Seconds()
	owed := unit - math.Mod(s.cumulative(t), unit)
	r := s.rate(t)
	if r <= 0 {
		return maxWait
	}
	wait := time.Duration(owed / r * float64(time.Second))
	return min(max(wait, minWait), maxWait)
}

// arrival is when unit (numbered from 0) arrived: the first instant at
// which arrivedUnits counts it. notAfter is a time by which it had
// arrived (when it was claimed); the search is a bisection over
// nanoseconds, so it agrees with arrivedUnits exactly.
func (s schedule) arrival(unit int64, notAfter time.Duration) time.Duration {
	lo, hi := time.Duration(0), notAfter
	if s.arrivedUnits(lo) > unit {
		return lo
	}
	// Invariant: unit has not arrived at lo and has at hi.
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if s.arrivedUnits(mid) > unit {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
