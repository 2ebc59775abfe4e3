package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/state"
)

// putRaw writes a value as etcdctl would, and returns its revision.
func putRaw(t *testing.T, endpoint, key, value string) int64 {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Put(context.Background(), key, value)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

func putJSON(t *testing.T, endpoint, key string, value any) {
	t.Helper()
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	putRaw(t, endpoint, key, string(data))
}

const webSpec = `{"name":"web","containers":[{"name":"api","image":"nginx","class":"best-effort"}]}`

// get apps and describe app show a rejected spec beside the one in force,
// get nodes and describe app show a failing policy, and a good decision
// clears it.
func TestGetAndDescribeShowRejectionsAndPolicyFailures(t *testing.T) {
	endpoint := startEtcd(t)
	putJSON(t, endpoint, state.Keys.Node("n1"), state.NodeInfo{Name: "n1", Capacity: state.Capacity{CPUs: 2}})
	putRaw(t, endpoint, state.Keys.App("n1", "web"), webSpec)
	rev := putRaw(t, endpoint, state.Keys.App("n1", "web"), `{"name":"web","containers":[{"name":"api"`)
	putJSON(t, endpoint, state.Keys.PolicyError("n1"), state.PolicyError{
		Node: "n1", Revision: rev, Stage: "eval", BundleDigest: "sha256:abc",
		Error: "node n1: evaluation stopped at its deadline: eval_cancel_error",
	})

	out, err := sluice(t, endpoint, "get", "apps")
	if err != nil || !strings.Contains(out, "SPEC") || !strings.Contains(out, "rejected@"+itoa(rev)) {
		t.Errorf("get apps (%v) does not show the rejection at %d:\n%s", err, rev, out)
	}
	out, err = sluice(t, endpoint, "get", "nodes")
	if err != nil || !strings.Contains(out, "POLICY") || !strings.Contains(out, "eval failed: node n1: evaluation stopped at its deadline") {
		t.Errorf("get nodes (%v) does not show the failing policy:\n%s", err, out)
	}
	out, err = sluice(t, endpoint, "describe", "app", "web")
	if err != nil || !strings.Contains(out, "revision "+itoa(rev)+" rejected") || !strings.Contains(out, "eval failed at revision") {
		t.Errorf("describe app web (%v) does not show the rejection and the policy:\n%s", err, out)
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Delete(context.Background(), state.Keys.PolicyError("n1")); err != nil {
		t.Fatal(err)
	}
	if out, err := sluice(t, endpoint, "get", "nodes"); err != nil || strings.Contains(out, "failed") || !strings.Contains(out, "ok") {
		t.Errorf("get nodes (%v) after a good decision:\n%s", err, out)
	}
}

// A key name holding an escape sequence reaches the terminal escaped.
func TestGetAppsEscapesControlCharacters(t *testing.T) {
	endpoint := startEtcd(t)
	putRaw(t, endpoint, state.Keys.App("n1", "\x1b[2Jweb"), webSpec)
	out, err := sluice(t, endpoint, "get", "apps")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, `\x1b[2Jweb`) {
		t.Fatalf("get apps printed the escape byte, or not its escaped form:\n%q", out)
	}
}

// apply holds a pinned spec to its node's registered capacity, as the
// node's agent will.
func TestApplyRefusesASpecItsNodeCannotRun(t *testing.T) {
	endpoint := startEtcd(t)
	putJSON(t, endpoint, state.Keys.Node("n1"), state.NodeInfo{Name: "n1", Capacity: state.Capacity{CPUs: 2}})
	file := filepath.Join(t.TempDir(), "web.json")
	spec := `{"name":"web","node":"n1","containers":[{"name":"api","image":"nginx","class":"best-effort","resources":{"cpu_quota_cores":3}}]}`
	if err := os.WriteFile(file, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := sluice(t, endpoint, "apply", "-f", file); err == nil || !strings.Contains(err.Error(), "on node n1") ||
		!strings.Contains(err.Error(), "resources.cpu_quota_cores 3") {
		t.Fatalf("apply of a 3-core quota on a 2-CPU node: %v\n%s", err, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
