package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// startAgent runs a real agent (embedded etcd, simulated node) in the test
// and returns its etcd endpoint; adjust changes its options first. The
// agent stops when the test ends.
func startAgent(t *testing.T, adjust ...func(*agentOptions)) string {
	t.Helper()
	endpoint := "http://" + freeTCPAddr(t)
	ao := &agentOptions{
		node: "test-node", runtime: "sim", dataDir: t.TempDir(),
		clientURL: endpoint, peerURL: "http://" + freeTCPAddr(t),
		interval: 100 * time.Millisecond, policyDir: "../../policies",
		heartbeatTTL: 10 * time.Second, simCPUs: 2,
	}
	for _, f := range adjust {
		f(ao)
	}
	var logs bytes.Buffer
	opts := &globalOptions{endpoints: []string{endpoint}, logLevel: "warn", stdout: &logs, stderr: &logs}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runAgent(ctx, opts, ao, false) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent stopped with %v\n%s", err, logs.String())
		}
	})
	waitFor(t, "the agent's node registration", func() bool {
		select {
		case err := <-done:
			t.Fatalf("agent exited early: %v\n%s", err, logs.String())
		default:
		}
		out, err := sluice(t, endpoint, "get", "nodes", "-o", "json")
		return err == nil && strings.Contains(out, `"test-node"`)
	})
	return endpoint
}

// sluice runs the command line in-process against endpoint.
func sluice(t *testing.T, endpoint string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(append(args, "--etcd-endpoints", endpoint))
	err := root.ExecuteContext(context.Background())
	return stdout.String(), err
}

func etcdctl(t *testing.T, endpoint string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "etcdctl", "--endpoints", endpoint}, args...)...)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("etcdctl %v: %v\n%s", args, err, out)
	}
}

// waitFor is waitUntil with the timeout the agent tests share.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	waitUntil(t, 30*time.Second, what, ok)
}

func appsByName(t *testing.T, endpoint string) map[string]appRow {
	t.Helper()
	out, err := sluice(t, endpoint, "get", "apps", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []appRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("get apps -o json: %v\n%s", err, out)
	}
	byName := map[string]appRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	return byName
}

// TestEtcdctlIsAsGoodAsApply edits intent with the pinned etcdctl against a
// running agent: a valid spec runs, a malformed one is reported in its
// status, and the agent and the other apps run on.
func TestEtcdctlIsAsGoodAsApply(t *testing.T) {
	endpoint := startAgent(t)
	web, err := os.ReadFile("../../examples/apps/web.json")
	if err != nil {
		t.Fatal(err)
	}
	etcdctl(t, endpoint, "put", state.Keys.App("", "web"), string(web))
	waitFor(t, "web to be ready", func() bool { return appsByName(t, endpoint)["web"].Phase == state.Ready })

	malformed := `{"name":"broken","containers":[{"name":"x","image":"sluice/cpuhog:dev","clas":"best-effort"}]}`
	etcdctl(t, endpoint, "put", state.Keys.App("", "broken"), malformed)
	etcdctl(t, endpoint, "put", state.Keys.App("", "garbage"), "{not json")
	waitFor(t, "the malformed specs to fail", func() bool {
		apps := appsByName(t, endpoint)
		return apps["broken"].Phase == state.Failed && apps["garbage"].Phase == state.Failed
	})
	apps := appsByName(t, endpoint)
	if !strings.Contains(apps["broken"].Error, `unknown field "clas"`) {
		t.Errorf("broken's error = %q, want it to name the unknown field", apps["broken"].Error)
	}
	if !strings.Contains(apps["garbage"].Error, state.Keys.App("", "garbage")) {
		t.Errorf("garbage's error = %q, want it to name the key", apps["garbage"].Error)
	}
	if apps["web"].Phase != state.Ready {
		t.Errorf("web is %s after the malformed specs, want ready", apps["web"].Phase)
	}

	out, err := sluice(t, endpoint, "describe", "app", "broken", "-o", "json")
	if err != nil || !strings.Contains(out, `"spec-invalid"`) {
		t.Errorf("describe app broken: err=%v, want a spec-invalid transition in\n%s", err, out)
	}
	etcdctl(t, endpoint, "del", state.Keys.App("", "web"))
	waitFor(t, "web to terminate", func() bool { return appsByName(t, endpoint)["web"].Phase == state.Terminated })
}

// TestApplyGetDescribeDecisions drives the agent through the CLI alone and
// checks that the policy decides on the live node.
func TestApplyGetDescribeDecisions(t *testing.T) {
	endpoint := startAgent(t)
	if _, err := sluice(t, endpoint, "apply", "-f", "../../examples/apps/shield-sine-victim.json",
		"-f", "../../examples/apps/shield-sine-hog.json"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a decision that puts the hog behind the victim", func() bool {
		out, err := sluice(t, endpoint, "get", "decisions", "-o", "json")
		var decisions []state.Decision
		if err != nil || json.Unmarshal([]byte(out), &decisions) != nil || len(decisions) == 0 {
			return false
		}
		hog := decisions[0].Containers["hog/cpuhog"]
		return hog.CPUShares != nil && *hog.CPUShares == 2
	})
	out, err := sluice(t, endpoint, "describe", "app", "hog")
	if err != nil || !strings.Contains(out, "Decision:") || !strings.Contains(out, "hog/cpuhog") {
		t.Fatalf("describe app hog: err=%v\n%s", err, out)
	}
	if _, err := sluice(t, endpoint, "apply", "-f", "testdata/does-not-exist.json"); err == nil {
		t.Error("apply of a missing file succeeded")
	}
	if _, err := sluice(t, endpoint, "get", "pods"); err == nil || !strings.Contains(err.Error(), "unknown resource") {
		t.Errorf("get pods: err = %v, want an unknown resource error", err)
	}
}
