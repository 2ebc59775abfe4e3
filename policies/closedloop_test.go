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
// CPU under CFS with equal weights. The simulator in sim/ is the real
// model; this one only checks the policy's control law (tracking, trend,
// one-tick actuation lag) against the experiment's targets.
type oneCore struct {
	tick     float64 // seconds
	backlog  float64 // CPU-seconds queued at the victim
	hogQuota *float64
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
	victimGets, hogGets := share(wantRate, hogRate)
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

// share is max-min fair sharing of one core between two runnable tasks.
func share(a, b float64) (float64, float64) {
	if a+b <= 1 {
		return a, b
	}
	switch {
	case a < 0.5:
		return a, 1 - a
	case b < 0.5:
		return 1 - b, b
	}
	return 0.5, 0.5
}

func TestShieldSineClosedLoop(t *testing.T) {
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
