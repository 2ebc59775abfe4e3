package sim

import (
	"math"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func TestWorkQueueCarriesWhatItCannotServe(t *testing.T) {
	var q WorkQueue
	// 0.8 cores of work for 0.25 s: it asks for 0.8 cores, gets 0.5.
	arrived := 0.8 * 0.25
	if got := q.Offer(arrived, 0.25, 1); math.Abs(got-0.8) > 1e-12 {
		t.Fatalf("first offer %g cores, want 0.8", got)
	}
	got, _ := q.Serve(arrived, 0.5, 0.25)
	want := state.WorkReport{Arrived: 0.2, Served: 0.125, Backlog: 0.075}
	if !closeReport(got, want) {
		t.Fatalf("first tick %+v, want %+v", got, want)
	}
	// The backlog raises the next offer: (0.075 + 0.2) / 0.25 = 1.1, capped at one core.
	if got := q.Offer(arrived, 0.25, 1); got != 1 {
		t.Fatalf("second offer %g cores, want 1 (its one CPU)", got)
	}
	got, _ = q.Serve(arrived, 1, 0.25)
	want = state.WorkReport{Arrived: 0.2, Served: 0.25, Backlog: 0.025}
	if !closeReport(got, want) {
		t.Fatalf("second tick %+v, want %+v", got, want)
	}
}

func TestWorkQueueNeverServesMoreThanItHolds(t *testing.T) {
	q := WorkQueue{Backlog: 0.01}
	got, _ := q.Serve(0.02, 1, 1)
	if got.Served != 0.03 || got.Backlog != 0 {
		t.Fatalf("got %+v, want 0.03 served and nothing left", got)
	}
	if offer := q.Offer(1, 0, 4); offer != 0 {
		t.Fatalf("offer over a zero-length tick %g, want 0", offer)
	}
}

func closeReport(a, b state.WorkReport) bool {
	return math.Abs(a.Arrived-b.Arrived) < 1e-12 && math.Abs(a.Served-b.Served) < 1e-12 &&
		math.Abs(a.Backlog-b.Backlog) < 1e-12
}
