package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// reset says what it would do and writes nothing without --yes; with it,
// it writes the claim of the node for the store the agent identified.
func TestNodeResetAsksThenClaims(t *testing.T) {
	endpoint := startAgent(t)
	out, err := sluice(t, endpoint, "node", "reset", "test-node")
	if !errors.Is(err, errNotConfirmed) || !strings.Contains(out, "would write /sluice/on/test-node/claim") {
		t.Fatalf("reset without --yes: err %v, output:\n%s", err, out)
	}
	out, err = sluice(t, endpoint, "node", "reset", "test-node", "-o", "json")
	if !errors.Is(err, errNotConfirmed) {
		t.Fatalf("reset without --yes: err %v", err)
	}
	var dry nodeReset
	if err := json.Unmarshal([]byte(out), &dry); err != nil || dry.Written || dry.Store == "" || dry.Previous != nil {
		t.Fatalf("dry reset = %+v (%v), want an identified store and nothing written or found", dry, err)
	}
	out, err = sluice(t, endpoint, "node", "reset", "test-node", "--yes", "--reason", "new data dir", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var done nodeReset
	if err := json.Unmarshal([]byte(out), &done); err != nil || !done.Written || done.Revision == 0 || done.Store != dry.Store {
		t.Fatalf("reset --yes = %+v (%v), want the claim written for store %s", done, err, dry.Store)
	}
	out, err = sluice(t, endpoint, "node", "reset", "test-node", "-o", "json")
	var again nodeReset
	if jsonErr := json.Unmarshal([]byte(out), &again); jsonErr != nil || again.Previous == nil || again.Previous.Reason != "new data dir" {
		t.Fatalf("reset of a claimed node = %+v (%v, %v), want the previous claim shown", again, err, jsonErr)
	}
}
