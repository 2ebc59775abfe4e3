package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// badSpecs are values an operator can put with etcdctl over a running
// app's spec, with the words its rejection must hold.
var badSpecs = []struct {
	name, value, want string
}{
	{"truncated JSON", `{"name":"victim","containers":[{"name":"sineload"`, "decode JSON"},
	{"negative quota", victimWith(`"resources":{"cpu_quota_cores":-1}`), "resources.cpu_quota_cores -1"},
	{"quota over the node's CPUs", victimWith(`"resources":{"cpu_quota_cores":3}`), "resources.cpu_quota_cores 3"},
	{"huge quota", victimWith(`"resources":{"cpu_quota_cores":1e300}`), "resources.cpu_quota_cores 1e+300"},
	{"huge cpuset", strings.Replace(victimWith(`"env":{}`), `"cpuset":"0"`, `"cpuset":"0-999999"`, 1), `cpuset: "0-999999"`},
	{"CPUs the node lacks", strings.Replace(victimWith(`"env":{}`), `"cpuset":"0"`, `"cpuset":"5"`, 1), `CPU 5 is not on the node`},
	{"invalid UTF-8", victimWith(`"env":{"MODE":"` + "\xc3\x28" + `"}`), "not valid UTF-8"},
}

// victimWith is the victim's spec with one more field in its container.
func victimWith(field string) string {
	return `{"name":"victim","containers":[{"name":"sineload","image":"sluice/sineload:dev","class":"latency-critical","cpuset":"0",` +
		`"demand":{"kind":"sine","base":0.5,"amplitude":0.3,"period_seconds":20},` + field + `}]}`
}

// A bad value put straight into etcd over a running app's spec changes
// nothing that runs: the app's containers keep their IDs and settings, its
// status names the key, the revision and the field, and the node goes on
// deciding for every app, with no policy error.
func TestABadSpecLeavesTheRunningAppAsItWas(t *testing.T) {
	_, store := etcdtest.Embedded(t)
	a, simNode := newSimAgent(t, store, agent.WithPolicyBundle(tickingBundle(t)))
	put(t, store, state.Keys.App(node, "victim"), []byte(victimWith(`"env":{}`)))
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	steps(t, a, 6)
	before := running(t, simNode)
	if len(before) != 2 {
		t.Fatalf("running %v, want the victim and the hog", before)
	}
	for _, bad := range badSpecs {
		t.Run(bad.name, func(t *testing.T) {
			rev := put(t, store, state.Keys.App(node, "victim"), []byte(bad.value))
			decided := lastDecision(t, store).Revision
			steps(t, a, 4)
			if after := running(t, simNode); !sameContainers(before, after) {
				t.Errorf("containers %v, were %v: a rejected spec changed what runs", after, before)
			}
			v := view(t, store)
			status := v.Statuses["victim"]
			if r := status.Rejected; status.Phase != state.Ready || r == nil || r.Key != state.Keys.App(node, "victim") ||
				r.Revision != rev || !strings.Contains(r.Error, bad.want) {
				t.Errorf("victim's status: phase %s, rejected %+v; want ready, rejected at %d for %q", status.Phase, r, rev, bad.want)
			}
			if failure, failed := v.PolicyErrors[node]; failed {
				t.Errorf("the policy fails on the node: %+v", failure)
			}
			if d := lastDecision(t, store); d.Revision <= decided || d.Containers["hog/cpuhog"].CPUShares == nil {
				t.Errorf("decision of revision %d (was %d): %+v; want new decisions for the hog", d.Revision, decided, d.Containers)
			}
		})
	}
	put(t, store, state.Keys.App(node, "victim"), []byte(victimWith(`"env":{}`)))
	steps(t, a, 2)
	if status := view(t, store).Statuses["victim"]; status.Rejected != nil || !sameContainers(before, running(t, simNode)) {
		t.Fatalf("after a good spec: rejected %+v, containers %v; want no rejection and the same containers", status.Rejected, running(t, simNode))
	}
}

// The shield policy copies a spec's quota into its decision: a quota over
// the node's CPUs, were it accepted, would make every decision of the node
// invalid. Rejected with the spec, it leaves the node deciding.
func TestAnOverCapacityQuotaLeavesTheNodeDeciding(t *testing.T) {
	_, store := etcdtest.Embedded(t)
	a, _ := newSimAgent(t, store)
	put(t, store, state.Keys.App(node, "victim"), []byte(victimWith(`"env":{}`)))
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	steps(t, a, 6)
	put(t, store, state.Keys.App(node, "hog"), []byte(
		`{"name":"hog","containers":[{"name":"cpuhog","image":"sluice/cpuhog:dev","class":"best-effort","cpuset":"0","resources":{"cpu_quota_cores":3}}]}`))
	steps(t, a, 6)
	v := view(t, store)
	if failure, failed := v.PolicyErrors[node]; failed {
		t.Fatalf("a spec's quota made the node's decisions invalid: %+v", failure)
	}
	if r := v.Statuses["hog"].Rejected; r == nil || !strings.Contains(r.Error, "resources.cpu_quota_cores 3") {
		t.Fatalf("hog's rejection %+v, want its quota named", r)
	}
}

// tickingBundle decides no settings but carries the observation's
// interval count, so that it writes a decision every step: the test sees
// the node go on deciding.
func tickingBundle(t testing.TB) *policies.Bundle {
	t.Helper()
	b, err := policies.LoadFiles(map[string][]byte{"ticking.rego": []byte(`package sluice.shield

decision := {
	"containers": {id: {"cpu_shares": 2} | some id, c in input.containers; c.class == "best-effort"},
	"reasons": [],
	"carry": {"time": input.observation.time},
}
`)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func steps(t testing.TB, a *agent.Agent, n int) {
	t.Helper()
	for range n {
		if _, err := a.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// runningContainer is what must not change under a rejected spec.
type runningContainer struct {
	ID, RuntimeID, GUID string
	CPU                 string
}

func running(t testing.TB, simNode *sim.Node) map[string]runningContainer {
	t.Helper()
	ctx := context.Background()
	containers, err := simNode.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]runningContainer{}
	for _, c := range containers {
		if !c.Running {
			continue
		}
		cpu, err := simNode.CPU(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		out[c.ID] = runningContainer{ID: c.ID, RuntimeID: c.RuntimeID, GUID: c.GUID, CPU: cpu.String()}
	}
	return out
}

func sameContainers(a, b map[string]runningContainer) bool {
	if len(a) != len(b) {
		return false
	}
	for id, c := range a {
		if b[id] != c {
			return false
		}
	}
	return true
}

func lastDecision(t testing.TB, store state.Store) state.Decision {
	t.Helper()
	kv, found, _, err := store.Get(context.Background(), state.Keys.Decision(node))
	if err != nil || !found {
		t.Fatalf("no decision of %s (%v)", node, err)
	}
	var d state.Decision
	if err := json.Unmarshal(kv.Value, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
