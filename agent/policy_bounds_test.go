package agent_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/testenv"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// Runaway policies an operator might push under /sluice/policies/: each
// would make a decision once done, so only a bound stops it.
var runawayPolicies = map[string]string{
	"16M-iterations": `package sluice.shield

misses := count([1 | some i in numbers.range(1, 4000); some j in numbers.range(1, 4000); i == j + 100000])

decision := {"containers": {}, "reasons": [{"rule": "loop", "message": sprintf("%d", [misses])}]}
`,
	"3M-element-array": `package sluice.shield

values := numbers.range(1, 3000000)

decision := {"containers": {}, "reasons": [{"rule": "array", "message": sprintf("%d", [count(values)])}]}
`,
}

// A runaway bundle is rejected at its first evaluation, within the
// deadline, as a bundle that fails to compile is: the last good one goes
// on deciding, the rejection is recorded once and says which bound
// stopped it, and it is cleared once the bundle is gone and a good
// decision follows.
func TestARunawayPolicyIsRejectedAndTheNodeGoesOnDeciding(t *testing.T) {
	for name, policy := range runawayPolicies {
		t.Run(name, func(t *testing.T) {
			_, store := etcdtest.Embedded(t)
			good := tickingBundle(t)
			a, _ := newSimAgent(t, store, agent.WithPolicyBundle(good))
			putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
			steps(t, a, 3)
			key := state.Keys.Policy("runaway.rego")
			put(t, store, key, []byte(policy))
			before := lastDecision(t, store).Revision
			steps(t, a, 4)
			failures := history(t, store, state.Keys.PolicyError(node), view(t, store).Revision)
			if len(failures) != 1 {
				t.Fatalf("%d policy error events for one runaway bundle, want 1", len(failures))
			}
			var failure state.PolicyError
			if err := json.Unmarshal(failures[0].Value, &failure); err != nil {
				t.Fatal(err)
			}
			if failure.Stage != "eval" || !strings.Contains(failure.Error, "evaluation stopped") {
				t.Fatalf("policy error %+v, want an eval stopped at a bound", failure)
			}
			if d := lastDecision(t, store); d.BundleDigest != good.Digest || d.Revision <= failures[0].Revision || d.Revision <= before {
				t.Fatalf("decision of bundle %s at %d (the error at %d); want the good bundle %s deciding after it",
					d.BundleDigest, d.Revision, failures[0].Revision, good.Digest)
			}
			if _, err := store.Txn(context.Background(), state.Delete(key)); err != nil {
				t.Fatal(err)
			}
			steps(t, a, 2)
			if _, failed := view(t, store).PolicyErrors[node]; failed {
				t.Fatal("the policy error stays after the runaway bundle is gone and a good decision followed")
			}
		})
	}
}

// BenchmarkRunawayPolicyRSS runs a stepped agent with its embedded etcd
// while a runaway bundle is pushed, rejected and pushed again, and reports
// the process's peak resident set: it must stay below 128 MiB. Run one at
// a time, so that the peak is this benchmark's:
//
//	go test -run XXX -bench RunawayPolicyRSS/3M ./agent/
func BenchmarkRunawayPolicyRSS(b *testing.B) {
	for name, policy := range runawayPolicies {
		b.Run(name, func(b *testing.B) {
			_, store := etcdtest.Embedded(b)
			a, _ := newSimAgent(b, store)
			putFile(b, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
			key := state.Keys.Policy("runaway.rego")
			for i := 0; b.Loop(); i++ {
				// A changed bundle is tried afresh; an unchanged one stays rejected.
				put(b, store, key, []byte(policy+"\n# push "+strconv.Itoa(i)+"\n"))
				steps(b, a, 2)
			}
			if _, failed := view(b, store).PolicyErrors[node]; !failed {
				b.Fatal("the runaway bundle was not rejected")
			}
			peak := testenv.PeakRSSMiB(b)
			b.ReportMetric(peak, "peak-rss-MiB")
			if peak >= 128 {
				b.Fatalf("peak RSS %.0f MiB, want < 128", peak)
			}
		})
	}
}
