package experiment

import (
	"context"
	"math"
	"testing"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/sim/scenario"
)

// A run simulated with a known profile stands in for a real one: the fit
// must find the victim's overhead it was made with.
func TestCalibrateRecoversTheOverheadOfARun(t *testing.T) {
	full, err := scenario.Load("../examples/experiments/shield-slo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc := full.Scaled(0.25)
	bundle, err := policies.LoadDir("../policies")
	if err != nil {
		t.Fatal(err)
	}
	truth := cfs.Profile{VictimOverhead: 0.15, WakeupLatencyMs: 0.25, NoiseCores: 0.03, NoiseBurstMs: 5}.WithDefaults()
	sub, err := uncontrolledPhases(sc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runSim(context.Background(), Config{Scenario: &sub, Bundle: bundle, Stores: MemoryStores}, &truth)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteOutputs(dir, sub, res); err != nil {
		t.Fatal(err)
	}
	fit, err := Calibrate(context.Background(), CalibrateConfig{Scenario: &sc, Bundle: bundle, RealDir: dir, Base: cfs.Defaults})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fit.Profile.VictimOverhead-truth.VictimOverhead) > 0.051 || fit.Cost > 0.5 {
		t.Errorf("fit %+v with cost %.3f, want the overhead %.2f", fit.Profile, fit.Cost, truth.VictimOverhead)
	}
}

func TestCalibrateNeedsAnAloneAndAContendedPhase(t *testing.T) {
	sc, err := scenario.Load("../examples/experiments/shield-slo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc.Phases = sc.Phases[2:] // shielded and the static baselines
	if _, err := uncontrolledPhases(*sc); err == nil {
		t.Error("no uncontrolled phase, want an error")
	}
}
