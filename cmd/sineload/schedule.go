package main

import (
	"fmt"
	"math"
	"time"
)

// schedule is the victim's offered load: work arrives at
// base + amplitude·sin(2πt/period) cores. It is a pure function of the
// elapsed time, so the arrivals of a run can be recomputed from its start
// alone and tested without a clock.
type schedule struct {
	base, amplitude float64
	period          time.Duration
	unit            time.Duration
}

func (s schedule) validate() error {
	switch {
	case s.base < 0 || s.amplitude < 0:
		return fmt.Errorf("--base %g and --amplitude %g must not be negative", s.base, s.amplitude)
	case s.amplitude > s.base:
		// The integral below assumes the rate never goes below zero.
		return fmt.Errorf("--amplitude %g must not exceed --base %g: demand would go negative", s.amplitude, s.base)
	case s.period <= 0:
		return fmt.Errorf("--period %v must be positive", s.period)
	case s.unit <= 0:
		return fmt.Errorf("--unit %v must be positive", s.unit)
	}
	return nil
}

// rate is the demand at elapsed time t, in cores.
func (s schedule) rate(t time.Duration) float64 {
	return s.base + s.amplitude*math.Sin(s.phase(t))
}

// cumulative is the CPU-seconds of work offered in [0, t]: the integral of
// rate, base·t + amplitude·period/2π·(1 − cos 2πt/period).
func (s schedule) cumulative(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	period := s.period.Seconds()
	return s.base*t.Seconds() + s.amplitude*period/(2*math.Pi)*(1-math.Cos(s.phase(t)))
}

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

func (s schedule) phase(t time.Duration) float64 {
	return 2 * math.Pi * t.Seconds() / s.period.Seconds()
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
