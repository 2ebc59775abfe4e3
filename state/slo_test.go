package state_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func sloApp(class state.Class, slo *state.SLOSpec, requestMs float64) state.AppSpec {
	return state.AppSpec{Name: "svc", Containers: []state.ContainerSpec{{
		Name: "main", Image: "img", Class: class, SLO: slo,
		Demand: &state.DemandSpec{Kind: "constant", Value: 0.5, RequestCPUMs: requestMs},
	}}}
}

func TestValidateSLO(t *testing.T) {
	cases := []struct {
		name      string
		class     state.Class
		slo       *state.SLOSpec
		requestMs float64
		want      string // "" means valid
	}{
		{"no slo", state.LatencyCritical, nil, 0, ""},
		{"slo on a latency-critical container", state.LatencyCritical, &state.SLOSpec{LatencyP99Ms: 20}, 5, ""},
		{"slo on a best-effort container", state.BestEffort, &state.SLOSpec{LatencyP99Ms: 20}, 0, "main: slo: only a latency-critical container has one, this one is best-effort"},
		{"zero bound", state.LatencyCritical, &state.SLOSpec{}, 0, "main: slo.latency_p99_ms must be a finite number > 0, got 0"},
		{"negative bound", state.LatencyCritical, &state.SLOSpec{LatencyP99Ms: -1}, 0, "got -1"},
		{"infinite bound", state.LatencyCritical, &state.SLOSpec{LatencyP99Ms: math.Inf(1)}, 0, "got +Inf"},
		{"negative request size", state.LatencyCritical, nil, -1, "main: demand.request_cpu_ms must be in [0, 60000] (0: the default), got -1"},
		{"request size of a day", state.LatencyCritical, nil, 86_400_000, "got 8.64e+07"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := sloApp(c.class, c.slo, c.requestMs).Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, c.want)
			case err != nil && !strings.Contains(err.Error(), "app svc: containers[0]"):
				t.Errorf("Validate() = %v, want it to say where", err)
			}
		})
	}
}

// The SLO is plain JSON under the spec, as operators write it.
func TestSLOJSON(t *testing.T) {
	raw := `{"name":"main","image":"img","class":"latency-critical","slo":{"latency_p99_ms":20},` +
		`"demand":{"kind":"constant","value":0.5,"request_cpu_ms":5}}`
	var c state.ContainerSpec
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	if c.SLO == nil || c.SLO.LatencyP99Ms != 20 || c.Demand.RequestCPUMs != 5 {
		t.Fatalf("decoded %+v (slo %+v, demand %+v)", c, c.SLO, c.Demand)
	}
	out, err := json.Marshal(state.ContainerSpec{Name: "x", Image: "i", Class: state.BestEffort})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "slo") {
		t.Errorf("a spec without an SLO writes one: %s", out)
	}
}
