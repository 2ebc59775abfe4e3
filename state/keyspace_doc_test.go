package state_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// docs/keyspace.md is the reference for anyone writing keys by hand, so it
// must keep up with the code: every prefix, every JSON field, every phase.
func TestKeyspaceDocMatchesTheCode(t *testing.T) {
	raw, err := os.ReadFile("../docs/keyspace.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	for _, prefix := range []string{
		state.NodesPrefix, state.UnpinnedAppsPrefix, state.PoliciesPrefix, state.ClusterPrefix, state.OnPrefix,
	} {
		if !strings.Contains(doc, "`"+prefix) {
			t.Errorf("docs/keyspace.md does not document the prefix %s", prefix)
		}
	}
	for _, key := range []string{
		state.Keys.Node("<node>"), state.Keys.App("", "<app>"), state.Keys.App("<node>", "<app>"),
		state.Keys.Status("<node>", "<app>"), state.Keys.Observation("<node>"), state.Keys.Decision("<node>"),
		state.Keys.PolicyError("<node>"), state.Keys.Claim("<node>"), state.Keys.Policy("<file>"), state.ClusterIDKey,
	} {
		if !strings.Contains(doc, "`"+key+"`") {
			t.Errorf("docs/keyspace.md does not document the key %s", key)
		}
	}
	for _, value := range []any{
		state.AppSpec{}, state.ContainerSpec{}, state.PortSpec{}, state.Resources{}, state.DemandSpec{},
		state.NodeInfo{}, state.Capacity{}, state.Observation{}, state.HostObservation{},
		state.ContainerObservation{}, state.WorkReport{}, state.Decision{}, state.ContainerDecision{},
		state.Reason{}, state.AppStatus{}, state.ContainerStatus{}, state.Transition{}, state.PolicyError{},
		state.ClusterID{}, state.NodeClaim{},
	} {
		typ := reflect.TypeOf(value)
		for i := range typ.NumField() {
			field, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if !strings.Contains(doc, "`"+field+"`") && !strings.Contains(doc, `"`+field+`"`) {
				t.Errorf("docs/keyspace.md does not mention %s.%s (JSON %q)", typ.Name(), typ.Field(i).Name, field)
			}
		}
	}
	for _, phase := range []state.Phase{state.Pending, state.Ready, state.Terminating, state.Terminated, state.Failed, state.Lost} {
		if !strings.Contains(doc, "`"+string(phase)+"`") {
			t.Errorf("docs/keyspace.md does not list the phase %s", phase)
		}
	}
}

// The message the keyspace doc shows for a misspelt field is the fold's.
func TestKeyspaceDocShowsTheFoldsMessage(t *testing.T) {
	raw, err := os.ReadFile("../docs/keyspace.md")
	if err != nil {
		t.Fatal(err)
	}
	spec := strings.Replace(webSpec, `"class"`, `"clas"`, 1)
	view := state.Fold("n1", put(42, state.Keys.App("", "web"), spec))
	msg := view.Errors[state.Keys.App("", "web")]
	if msg == "" || !strings.Contains(string(raw), msg) {
		t.Fatalf("docs/keyspace.md should quote the fold's message %q", msg)
	}
}
