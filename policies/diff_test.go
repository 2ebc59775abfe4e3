package policies

import (
	"encoding/json"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func quotaDecision(quotas map[string]*float64) state.Decision {
	d := state.Decision{Containers: map[string]state.ContainerDecision{}}
	for id, q := range quotas {
		d.Containers[id] = state.ContainerDecision{CPUQuotaCores: q}
	}
	return d
}

func mustJSON(t *testing.T, d state.Decision) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// differing builds the diff of one decision where each container's quota
// went from was[id] to now[id].
func differing(t *testing.T, rev int64, was, now map[string]*float64) DecisionDiff {
	t.Helper()
	recorded, replayed := quotaDecision(was), quotaDecision(now)
	return DecisionDiff{ViewRevision: rev, Recorded: mustJSON(t, recorded), Replayed: mustJSON(t, replayed),
		Changes: containerChanges(recorded, replayed)}
}

// Containers and changes come most changed first: a lifted limit, then the
// largest quota moved; errors and decisions that set the same are counted
// apart.
func TestSummariseRanksTheLargestChanges(t *testing.T) {
	result := ReplayResult{Decisions: 5, Differing: []DecisionDiff{
		differing(t, 10, map[string]*float64{"a/x": new(0.5), "b/y": new(0.5)}, map[string]*float64{"a/x": new(0.4), "b/y": new(0.1)}),
		differing(t, 20, map[string]*float64{"a/x": new(0.5)}, map[string]*float64{"a/x": new(0.2)}),
		differing(t, 30, map[string]*float64{"c/z": new(0.5)}, map[string]*float64{"c/z": nil}),
		{ViewRevision: 40, Error: "eval failed"},
		{ViewRevision: 50, Recorded: []byte(`{}`), Replayed: []byte(`{"reasons":[]}`)},
	}}
	diff, err := Summarise(result)
	if err != nil {
		t.Fatal(err)
	}
	if diff.Differing != 3 || diff.Errors != 1 {
		t.Fatalf("differing %d, errors %d; want 3 and 1", diff.Differing, diff.Errors)
	}
	var order []string
	for _, c := range diff.Containers {
		order = append(order, c.Container)
	}
	if got := order; len(got) != 3 || got[0] != "c/z" || got[1] != "b/y" || got[2] != "a/x" {
		t.Fatalf("containers in order %v, want c/z (limit lifted), b/y (0.4 less), a/x (0.3 less at most)", got)
	}
	if a := diff.Containers[2]; a.Decisions != 2 || a.Largest.ViewRevision != 20 {
		t.Errorf("a/x: %d decisions, largest at %d; want 2, at 20", a.Decisions, a.Largest.ViewRevision)
	}
	if !diff.Largest[0].LimitChanged || diff.Largest[0].DeltaQuotaCores != nil || len(diff.Largest) != 4 {
		t.Errorf("largest changes %+v, want the lifted limit first, of 4", diff.Largest)
	}
}
