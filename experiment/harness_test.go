package experiment

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// Two hogs: one beside the victim on CPU 0, stopped halfway, and one alone
// on CPU 1 with a square demand.
const twoHogs = `
name: two-hogs
seed: 3
tick_seconds: 0.25
node: {cpus: 2}
apps:
  - name: victim
    containers:
      - {name: sineload, image: sluice/sineload:dev, class: latency-critical, cpuset: "0",
         demand: {kind: sine, base: 0.5, amplitude: 0.3, period_seconds: 10}}
  - name: hog
    containers:
      - {name: cpuhog, image: sluice/cpuhog:dev, class: best-effort, cpuset: "0", demand: {kind: constant, value: 1}}
  - name: far
    containers:
      - {name: cpuhog, image: sluice/cpuhog:dev, class: best-effort, cpuset: "1",
         demand: {kind: square, base: 0.6, amplitude: 0.4, period_seconds: 4}}
victim: victim/sineload
hog: hog/cpuhog
phases:
  - {name: shielded, duration_seconds: 10, control: policy, start: {victim: 0, hog: 1, far: 0}, stop: {hog: 5}}
`

func loadText(t *testing.T, text string) *scenario.Scenario {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestPhaseStopsAppsAndSummarisesEveryBestEffortContainer(t *testing.T) {
	res := run(t, loadText(t, twoHogs), loadBundle(t), MemoryStores)
	for _, row := range res.Rows {
		if row.Seconds > 5.5 && row.HogUsageCores > 0 {
			t.Fatalf("the hog used %g cores at %g s, after its stop at 5 s", row.HogUsageCores, row.Seconds)
		}
	}
	got := res.Summary.Phases[0].BestEffort
	if len(got) != 2 || got[0].Name != "far/cpuhog" || got[1].Name != "hog/cpuhog" {
		t.Fatalf("best_effort = %+v, want far/cpuhog and hog/cpuhog", got)
	}
	far := got[0]
	// Alone on CPU 1 it could have had the whole core, and its demand is
	// a square of mean 0.6 cores.
	if far.CPUCores < 0.5 || far.CPUCores > 0.7 || far.ShareOfAvailableCPU == nil || *far.ShareOfAvailableCPU > 0.7 {
		t.Errorf("far hog = %+v, want about 0.6 cores of the 1 available", far)
	}
	if hog := got[1]; hog.ShareOfAvailableCPU == nil || hog.CPUCores <= 0 {
		t.Errorf("hog = %+v, want its share of what the victim left", hog)
	}
}

// A victim that cannot start (its csv demand names a file nobody can
// read) fails the run; it must not report the figures of an empty node.
func TestPhaseFailsWhenItsVictimNeverRuns(t *testing.T) {
	sc := loadShieldSine(t, 0.1)
	victim := &sc.Apps[0].Spec.Containers[0]
	if state.ContainerID(sc.Apps[0].Spec.Name, victim.Name) != sc.Victim {
		t.Fatalf("apps[0] is not the victim's app")
	}
	victim.Demand = &state.DemandSpec{Kind: "csv", File: "gone.csv"}
	_, err := Run(context.Background(), Config{Scenario: sc, Bundle: loadBundle(t), Stores: MemoryStores})
	if err == nil {
		t.Fatal("the run succeeded without its victim")
	}
	for _, want := range []string{"phase alone", "container victim/sineload has not been running", "gone.csv"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
