package policies

import (
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func TestValidate(t *testing.T) {
	view := contendedView()
	view.Nodes[testNode] = state.NodeInfo{Name: testNode, Capacity: state.Capacity{CPUs: 2, NetMbit: 100}}
	// A container only the sensors know (its app spec was deleted) is
	// still the policy's to decide on.
	obs := view.Observations[testNode]
	obs.Containers = append(obs.Containers, state.ContainerObservation{ID: "old/orphan", App: "old", Name: "orphan", Class: state.BestEffort})
	view.Observations[testNode] = obs

	for name, tc := range map[string]struct {
		container string
		decision  state.ContainerDecision
		want      string // "" for valid
	}{
		"quota within the node":     {"batch/hog", state.ContainerDecision{CPUQuotaCores: ptr(2.0)}, ""},
		"observed-only container":   {"old/orphan", state.ContainerDecision{CPUQuotaCores: ptr(0.1)}, ""},
		"no limits at all":          {"shop/victim", state.ContainerDecision{}, ""},
		"shares and bandwidth":      {"batch/hog", state.ContainerDecision{CPUShares: ptr(uint64(2)), NetMbit: ptr(100.0)}, ""},
		"unknown container":         {"shop/ghost", state.ContainerDecision{}, "container shop/ghost: not a container of node node-1"},
		"zero quota":                {"batch/hog", state.ContainerDecision{CPUQuotaCores: ptr(0.0)}, "container batch/hog: cpu_quota_cores 0"},
		"negative quota":            {"batch/hog", state.ContainerDecision{CPUQuotaCores: ptr(-0.5)}, "container batch/hog: cpu_quota_cores -0.5"},
		"quota beyond the node":     {"batch/hog", state.ContainerDecision{CPUQuotaCores: ptr(2.01)}, "container batch/hog: cpu_quota_cores 2.01: must be in (0, 2]"},
		"shares below the minimum":  {"batch/hog", state.ContainerDecision{CPUShares: ptr(uint64(1))}, "container batch/hog: cpu_shares 1"},
		"shares above the maximum":  {"batch/hog", state.ContainerDecision{CPUShares: ptr(uint64(262145))}, "container batch/hog: cpu_shares 262145"},
		"bandwidth zero":            {"batch/hog", state.ContainerDecision{NetMbit: ptr(0.0)}, "container batch/hog: net_mbit 0"},
		"bandwidth beyond the node": {"batch/hog", state.ContainerDecision{NetMbit: ptr(100.5)}, "container batch/hog: net_mbit 100.5: exceeds"},
	} {
		t.Run(name, func(t *testing.T) {
			d := state.Decision{Node: testNode, Containers: map[string]state.ContainerDecision{tc.container: tc.decision}}
			err := Validate(d, view, testNode)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid decision refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("invalid decision accepted, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	d := state.Decision{Node: testNode, Containers: map[string]state.ContainerDecision{
		"batch/hog":  {CPUQuotaCores: ptr(5.0), CPUShares: ptr(uint64(0))},
		"shop/ghost": {},
	}}
	err := Validate(d, contendedView(), testNode)
	if err == nil {
		t.Fatal("invalid decision accepted")
	}
	for _, want := range []string{"batch/hog: cpu_quota_cores 5", "batch/hog: cpu_shares 0", "shop/ghost"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not report %q: %v", want, err)
		}
	}
}

func TestValidateRefusesAnotherNodesDecision(t *testing.T) {
	d := state.Decision{Node: "node-2", Containers: map[string]state.ContainerDecision{}}
	if err := Validate(d, contendedView(), testNode); err == nil || !strings.Contains(err.Error(), "node-2") {
		t.Fatalf("want an error naming node-2, got %v", err)
	}
}
