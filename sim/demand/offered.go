package demand

import (
	"math"
	"sort"
	"time"
)

// Offered is the work a demand offers over [0, t], in CPU-seconds: the
// integral of Demand. A real workload that follows a demand (sineload)
// counts its arrivals with it, so its requests arrive exactly as the
// curve says however its clock ticks. Every generator of this package
// implements it in closed form.
type Offered interface {
	Generator
	Offered(t time.Duration) float64
}

// Offered implements Offered: Base·t + Amplitude·P/2π·(1 − cos 2πt/P)
// while the sine stays above zero, and the integral of its positive part
// where it dips below.
func (s Sine) Offered(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	b, a := s.Base, s.Amplitude
	if a < 0 {
		// −sin x = sin(x + π): the same curve half a period on.
		shifted := Sine{Base: b, Amplitude: -a, PeriodSeconds: s.PeriodSeconds}
		half := time.Duration(s.PeriodSeconds / 2 * float64(time.Second))
		return shifted.Offered(t+half) - shifted.Offered(half)
	}
	perRadian := s.PeriodSeconds / (2 * math.Pi)
	x := seconds(t) / perRadian
	return perRadian * positiveSineIntegral(b, a, x)
}

// positiveSineIntegral is ∫₀ˣ max(0, b + a·sin u) du for a ≥ 0, x ≥ 0.
func positiveSineIntegral(b, a, x float64) float64 {
	switch {
	case b >= a:
		return b*x + a*(1-math.Cos(x))
	case b <= -a:
		return 0
	}
	// b + a·sin u > 0 on (−θ, π + θ) modulo 2π, θ = asin(b/a).
	theta := math.Asin(b / a)
	full := math.Floor(x / (2 * math.Pi))
	rest := x - 2*math.Pi*full
	onePeriod := b*(math.Pi+2*theta) + 2*a*math.Cos(theta)
	within := 0.0
	for _, span := range [][2]float64{{-theta, math.Pi + theta}, {2*math.Pi - theta, 3*math.Pi + theta}} {
		lo, hi := max(span[0], 0), min(span[1], rest)
		if hi > lo {
			within += b*(hi-lo) - a*(math.Cos(hi)-math.Cos(lo))
		}
	}
	return full*onePeriod + within
}

// Offered implements Offered.
func (c Constant) Offered(t time.Duration) float64 {
	return max(0, c.Cores) * max(0, seconds(t))
}

// Offered implements Offered.
func (s Step) Offered(t time.Duration) float64 {
	at := max(0, seconds(t))
	before := min(at, max(0, s.AtSeconds))
	return max(0, s.Before)*before + max(0, s.After)*(at-before)
}

// Offered implements Offered.
func (s Square) Offered(t time.Duration) float64 {
	at := max(0, seconds(t))
	high, low := max(0, s.Base+s.Amplitude), max(0, s.Base-s.Amplitude)
	half := s.PeriodSeconds / 2
	periods := math.Floor(at / s.PeriodSeconds)
	rest := at - periods*s.PeriodSeconds
	return periods*half*(high+low) + high*min(rest, half) + low*max(0, rest-half)
}

// Offered implements Offered: trapezoids between points, the first value
// before the first point and the last after the last.
func (tr *Trace) Offered(t time.Duration) float64 {
	at := seconds(t)
	next := sort.Search(len(tr.points), func(i int) bool { return tr.points[i].Seconds > at })
	return tr.offeredFrom(next, at)
}

// offeredFrom is the work offered over [0, at], where next is the index
// of the first point after at (or of the point at at), so that only one
// segment is integrated beyond the sums already known.
func (tr *Trace) offeredFrom(next int, at float64) float64 {
	if at <= 0 {
		return 0
	}
	pts := tr.points
	if next == 0 || pts[next-1].Seconds <= 0 {
		// The segment runs from time zero: before the first point, or
		// the one that straddles zero.
		return trapezoid(tr.Demand(0), tr.demandAt(at), at)
	}
	prev := pts[next-1]
	return tr.offered[next-1] + trapezoid(prev.Cores, tr.demandAt(at), at-prev.Seconds)
}

func (tr *Trace) demandAt(s float64) float64 {
	return tr.Demand(time.Duration(s * float64(time.Second)))
}

// trapezoid is the work of a linear segment from demand a to demand b
// over seconds.
func trapezoid(a, b, seconds float64) float64 { return (a + b) / 2 * seconds }
