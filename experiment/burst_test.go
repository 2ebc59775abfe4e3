package experiment

import (
	"testing"

	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
)

// TestBurstMeetsItsTargets runs the full-length burst experiment in the
// simulator: the quota the policy lends keeps the server's p99 latency at
// most 0.7 of that at its limit, while its quota over the phase stays
// within 1.2 times the limit.
func TestBurstMeetsItsTargets(t *testing.T) {
	sc, err := scenario.Load("../examples/experiments/burst.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := run(t, sc, loadBundle(t), MemoryStores)
	phases := map[string]report.PhaseSummary{}
	for _, p := range res.Summary.Phases {
		phases[p.Name] = p
	}
	atMean, atPeak, shielded := phases["quota-at-mean"], phases["quota-at-peak"], phases["shielded"]
	for name, p := range map[string]report.PhaseSummary{"quota-at-mean": atMean, "quota-at-peak": atPeak, "shielded": shielded} {
		if p.VictimLatencyP99Ms == nil || p.VictimQuotaMeanCores == nil || p.VictimQuotaLimitCores == nil {
			t.Fatalf("%s: p99 %v, mean quota %v, limit %v: a figure is missing", name, p.VictimLatencyP99Ms, p.VictimQuotaMeanCores, p.VictimQuotaLimitCores)
		}
	}
	if got, bound := *shielded.VictimLatencyP99Ms, 0.7**atMean.VictimLatencyP99Ms; got > bound {
		t.Errorf("shielded p99 = %.1f ms, want ≤ %.1f ms (0.7 × quota-at-mean's)", got, bound)
	}
	if got, bound := *shielded.VictimQuotaMeanCores, 1.2**shielded.VictimQuotaLimitCores; got > bound {
		t.Errorf("shielded mean quota = %.3f cores, want ≤ %.3f (1.2 × its limit)", got, bound)
	}
	// The lent quota is what made the difference: the limit held, and the
	// baseline's p99 comes from the throttled bursts.
	if *shielded.VictimQuotaMeanCores <= *shielded.VictimQuotaLimitCores {
		t.Errorf("shielded mean quota %.3f: nothing was lent above the limit %.3f", *shielded.VictimQuotaMeanCores, *shielded.VictimQuotaLimitCores)
	}
	if *atMean.VictimQuotaMeanCores != *atMean.VictimQuotaLimitCores {
		t.Errorf("quota-at-mean: mean quota %.3f differs from its fixed limit %.3f", *atMean.VictimQuotaMeanCores, *atMean.VictimQuotaLimitCores)
	}
}
