package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/state"
)

// copyPolicy copies the default bundle and its tests into a fresh dir.
func copyPolicy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"shield.rego", "shield_test.rego", "burst.rego", "burst_test.rego", "data.json"} {
		content, err := os.ReadFile(filepath.Join("../../policies", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), string(content))
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitCommit makes dir a git repository with one commit and returns it.
func gitCommit(t *testing.T, dir string) string {
	t.Helper()
	run(t, dir, "git", "init", "-q")
	run(t, dir, "git", "add", ".")
	run(t, dir, "git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "policy")
	return run(t, dir, "git", "rev-parse", "HEAD")
}

// A bundle with a failing test is refused with the test named, and nothing
// reaches the store.
func TestPolicyPushRefusesFailingTest(t *testing.T) {
	server, store := etcdtest.Embedded(t)
	dir := copyPolicy(t)
	writeFile(t, filepath.Join(dir, "broken_test.rego"), "package sluice.shield_test\n\ntest_never_passes if false\n")
	_, err := sluice(t, server.Endpoints()[0], "policy", "push", dir)
	if err == nil || !strings.Contains(err.Error(), "test_never_passes") || !strings.Contains(err.Error(), "nothing pushed") {
		t.Fatalf("push of a bundle with a failing test: err = %v, want it refused naming test_never_passes", err)
	}
	if names, err := policies.StoredNames(context.Background(), store); err != nil || len(names) != 0 {
		t.Fatalf("after a refused push the store holds %v (err %v), want nothing", names, err)
	}
}

// An agent without --policy-dir decides with the policy built into the
// binary, wherever it runs. A pushed bundle replaces the one under
// /sluice/policies/ whole (the decision's digest would differ if the stale
// file stayed), and the agent's next decision records its digest and git
// revision.
func TestPolicyPushRecordsRevision(t *testing.T) {
	endpoint := startAgent(t, func(ao *agentOptions) { ao.policyDir = "" })
	builtIn, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	waitForDecision(t, endpoint, builtIn.Digest, "")
	dir := copyPolicy(t)
	commit := gitCommit(t, dir)
	etcdctl(t, endpoint, "put", state.Keys.Policy("stale.rego"), "package stale")
	out, err := sluice(t, endpoint, "policy", "push", dir, "-o", "json")
	if err != nil {
		t.Fatalf("push: %v\n%s", err, out)
	}
	var pushed policyPush
	if err := json.Unmarshal([]byte(out), &pushed); err != nil || pushed.Revision != commit {
		t.Fatalf("push printed %s (err %v), want revision %s", out, err, commit)
	}
	waitForDecision(t, endpoint, pushed.Digest, commit)

	writeFile(t, filepath.Join(dir, "data.json"), `{"thresholds": {}}`+"\n")
	if got := gitRevision(context.Background(), dir); got != commit+"-dirty" {
		t.Errorf("revision of an edited checkout = %q, want %q", got, commit+"-dirty")
	}
	if got := gitRevision(context.Background(), t.TempDir()); got != "none" {
		t.Errorf("revision outside git = %q, want none", got)
	}
}

func waitForDecision(t *testing.T, endpoint, digest, revision string) {
	t.Helper()
	waitFor(t, "a decision of bundle "+revision, func() bool {
		out, err := sluice(t, endpoint, "get", "decisions", "-o", "json")
		var decisions []state.Decision
		if err != nil || json.Unmarshal([]byte(out), &decisions) != nil || len(decisions) == 0 {
			return false
		}
		return decisions[0].BundleDigest == digest && decisions[0].BundleRevision == revision
	})
}

// policy diff replays a recorded run with a bundle of larger headroom and
// finds the hog's quota lower, in the table and in JSON.
func TestPolicyDiffSummarisesARecordedRun(t *testing.T) {
	out := t.TempDir()
	if _, err := sluice(t, "", "sim", "run", "../../examples/experiments/shield-sine.yaml",
		"--policy", "../../policies", "--duration-scale", "0.2", "--out", out); err != nil {
		t.Fatal(err)
	}
	dir := copyPolicy(t)
	data, err := os.ReadFile(filepath.Join(dir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "data.json"), strings.Replace(string(data), `"headroom_millicores": 20`, `"headroom_millicores": 300`, 1))
	recording := filepath.Join(out, "events.jsonl")

	table, err := sluice(t, "", "policy", "diff", dir, recording)
	if err != nil || !strings.Contains(table, "hog/cpuhog") || !strings.Contains(table, "LARGEST CHANGES") {
		t.Fatalf("policy diff: err=%v\n%s", err, table)
	}
	raw, err := sluice(t, "", "policy", "diff", dir, recording, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var diff policies.PolicyDiff
	if err := json.Unmarshal([]byte(raw), &diff); err != nil {
		t.Fatalf("policy diff -o json: %v\n%s", err, raw)
	}
	if diff.Differing == 0 || len(diff.Containers) == 0 || diff.Containers[0].Container != "hog/cpuhog" {
		t.Fatalf("diff = %+v, want the hog's quota to change", diff)
	}
	largest := diff.Largest[0]
	if largest.DeltaQuotaCores == nil || *largest.DeltaQuotaCores >= 0 {
		t.Errorf("largest change %+v, want a lower quota for the hog", largest)
	}

	same, err := sluice(t, "", "policy", "diff", "../../policies", recording, "-o", "json")
	if err != nil || !strings.Contains(same, `"differing": 0`) {
		t.Errorf("policy diff with the recorded bundle: err=%v, want no difference\n%s", err, same)
	}
}

// A recording of an agent that runs the built-in policy carries that
// policy, and replays with no decision differing.
func TestRecordCarriesTheBuiltInPolicy(t *testing.T) {
	endpoint := startAgent(t, func(ao *agentOptions) { ao.policyDir = "" })
	builtIn, err := policies.Default()
	if err != nil {
		t.Fatal(err)
	}
	waitForDecision(t, endpoint, builtIn.Digest, "")
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	if _, err := sluice(t, endpoint, "record", "--out", file); err != nil {
		t.Fatal(err)
	}
	out, err := sluice(t, endpoint, "replay", file, "-o", "json")
	var result policies.ReplayResult
	if err != nil || json.Unmarshal([]byte(out), &result) != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	if result.Decisions == 0 || len(result.Differing) != 0 || result.PolicyDigest != builtIn.Digest {
		t.Fatalf("replay of the recording: %d decisions, %d differing, digest %s; want none differing with %s",
			result.Decisions, len(result.Differing), result.PolicyDigest, builtIn.Digest)
	}
}
