package main

import (
	"math"
	"time"
)

// report is one line of sineload's output. Its field names match
// state.WorkReport where they overlap, so the experiment decodes a line
// straight into one.
type report struct {
	// T is seconds since start.
	T float64 `json:"t"`
	// Arrived and Served are CPU-seconds of work over the tick.
	Arrived float64 `json:"arrived"`
	Served  float64 `json:"served"`
	// Backlog is CPU-seconds of work arrived but not yet served (the unit in
	// service included) at T.
	Backlog float64 `json:"backlog"`
	// Demand is the mean offered load over the tick, in cores.
	Demand float64 `json:"demand"`
}

// reporter turns cumulative counters into per-tick reports. It holds the
// previous tick's counters and nothing else, so it is tested with made-up
// times and counts.
type reporter struct {
	sched         schedule
	prevT         time.Duration
	prevArrived   int64
	prevServed    int64
	prevOffered   float64
	unitCPUSecond float64
}

func newReporter(s schedule) *reporter {
	return &reporter{sched: s, unitCPUSecond: s.unit.Seconds()}
}

// next reports the interval ending at t, when served units were done.
func (r *reporter) next(t time.Duration, served int64) report {
	arrived := r.sched.arrivedUnits(t)
	offered := r.sched.cumulative(t)
	rep := report{
		T:       round(t.Seconds()),
		Arrived: round(float64(arrived-r.prevArrived) * r.unitCPUSecond),
		Served:  round(float64(served-r.prevServed) * r.unitCPUSecond),
		Backlog: round(float64(max(arrived-served, 0)) * r.unitCPUSecond),
	}
	if dt := (t - r.prevT).Seconds(); dt > 0 {
		rep.Demand = round((offered - r.prevOffered) / dt)
	}
	r.prevT, r.prevArrived, r.prevServed, r.prevOffered = t, arrived, served, offered
	return rep
}

// round keeps reports readable: microsecond precision is far below what a
// tick can measure.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }
