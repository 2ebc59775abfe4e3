package policies

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// oneCore is a deliberately small model of the headline case, enough to
// close the loop around the policy in a unit test: a work-queue victim
// whose demand is a sine, and a hog that wants the whole core, sharing one
// CPU under CFS by weight. The simulator in sim/ is the real model; this
// one only checks the policy's control law (tracking, trend, one-tick
// actuation lag) against the experiment's targets.
type oneCore struct {
	tick     float64 // seconds
	backlog  float64 // CPU-seconds queued at the victim
	hogQuota *float64
	// hogShares is the hog's CPU weight against the victim's 1024; 0
	// keeps them equal whatever the policy asks, as for a neighbour
	// the weight cannot reach (another branch of the cgroup tree).
	hogShares float64
}

type tickResult struct {
	victim, hog  state.ContainerObservation
	satisfaction float64
}

func (m *oneCore) step(now float64, hogRunning bool) tickResult {
	demand := 0.5 + 0.3*math.Sin(2*math.Pi*now/20)
	arrived := demand * m.tick
	wantRate := (arrived + m.backlog) / m.tick
	hogRate := 0.0
	if hogRunning {
		hogRate = 1
		if m.hogQuota != nil {
			hogRate = math.Min(hogRate, *m.hogQuota)
		}
	}
	hogWeight := 0.5
	if m.hogShares > 0 {
		hogWeight = m.hogShares / (m.hogShares + 1024)
	}
	victimGets, hogGets := share(wantRate, hogRate, hogWeight)
	served := victimGets * m.tick
	res := tickResult{satisfaction: math.Min(1, served/(arrived+m.backlog))}
	m.backlog = math.Max(0, m.backlog+arrived-served)
	res.victim = state.ContainerObservation{
		CPUUsageCores:     victimGets,
		RunQueueWaitCores: math.Min(wantRate, 1) - victimGets,
		Work:              &state.WorkReport{Arrived: arrived, Served: served, Backlog: m.backlog},
	}
	res.hog = state.ContainerObservation{CPUUsageCores: hogGets, CPUQuotaCores: m.hogQuota}
	if hogRunning {
		res.hog.RunQueueWaitCores = 1 - hogGets
		if m.hogQuota != nil && hogGets >= *m.hogQuota-1e-9 {
			res.hog.ThrottledSeconds = m.tick * (1 - *m.hogQuota)
		}
	}
	return res
}

// share is weighted max-min fair sharing of one core between two runnable
// tasks wanting a and b, where the second's weight is bWeight of the two.
func share(a, b, bWeight float64) (float64, float64) {
	if a+b <= 1 {
		return a, b
	}
	switch {
	case a < 1-bWeight:
		return a, 1 - a
	case b < bWeight:
		return 1 - b, b
	}
	return 1 - bWeight, bWeight
}

// The loop must meet the targets with the weight the policy sets, and with
// its quota alone when the weight does not take effect.
func TestShieldSineClosedLoop(t *testing.T) {
	for _, weighted := range []bool{true, false} {
		name := map[bool]string{true: "weighted", false: "quota-only"}[weighted]
		t.Run(name, func(t *testing.T) { testShieldSineClosedLoop(t, weighted) })
	}
}

func testShieldSineClosedLoop(t *testing.T, weighted bool) {
	engine := defaultEngine(t)
	model := &oneCore{tick: 0.25}
	var previous *state.Decision
	var satisfactionSum, hogUsed, freeCPU float64
	var ticks int
	hogStart, hogStop := 5.0, 50.0
	var releasedAt float64
	for i := 1; i <= 240; i++ {
		now := float64(i) * model.tick
		res := model.step(now, now > hogStart && now <= hogStop)
		view := sineView(res.victim, res.hog)
		view.Revision = int64(i)
		obs := view.Observations[testNode]
		obs.Time = testTime.Add(time.Duration(now * float64(time.Second)))
		view.Observations[testNode] = obs
		if previous != nil {
			view.Decisions[testNode] = *previous
		}
		d, err := engine.Decide(context.Background(), view, testNode)
		if err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
		previous = &d
		model.hogQuota = d.Containers["batch/hog"].CPUQuotaCores
		if shares := d.Containers["batch/hog"].CPUShares; weighted && shares != nil {
			model.hogShares = float64(*shares)
		}
		if now > hogStop && releasedAt == 0 && model.hogQuota == nil {
			releasedAt = now
		}
		if now > hogStart+1 && now <= hogStop { // after time to shield
			satisfactionSum += res.satisfaction
			hogUsed += res.hog.CPUUsageCores
			freeCPU += 1 - res.victim.CPUUsageCores
			ticks++
		}
	}
	satisfaction := satisfactionSum / float64(ticks)
	hogShare := hogUsed / freeCPU
	t.Logf("victim satisfaction %.4f, hog share of free CPU %.4f", satisfaction, hogShare)
	if satisfaction < 0.98 {
		t.Errorf("victim satisfaction %.4f, want ≥ 0.98", satisfaction)
	}
	if hogShare < 0.90 {
		t.Errorf("hog share of free CPU %.4f, want ≥ 0.90", hogShare)
	}
	// The release climbs from at least capacity − wanted − headroom by
	// release_step_cores a tick, so it must be over within ten ticks.
	switch {
	case releasedAt == 0:
		t.Errorf("the hog's cap was never dropped after it stopped")
	case releasedAt-hogStop > 10*model.tick:
		t.Errorf("the hog's cap was dropped %.2f s after it stopped, want within 2.5 s", releasedAt-hogStop)
	}
	t.Logf("cap dropped %.2f s after the hog stopped", releasedAt-hogStop)
}
