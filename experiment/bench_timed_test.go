package experiment

import (
	"context"
	"testing"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/scenario"
)

// BenchmarkTimedScenario runs shield-slo, five phases of 40 s, on the timed
// CPU model with the development machine's profile: the target is at most
// 2 s of CPU per run.
func BenchmarkTimedScenario(b *testing.B) {
	sc, err := scenario.Load("../examples/experiments/shield-slo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := policies.LoadDir("../policies")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Run(context.Background(), Config{Scenario: sc, Bundle: bundle, Stores: MemoryStores}); err != nil {
			b.Fatal(err)
		}
	}
}
