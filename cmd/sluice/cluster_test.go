package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// The cluster test's timing: agents tick every second, and a node is lost
// three seconds after its last heartbeat.
const (
	clusterInterval     = time.Second
	clusterHeartbeatTTL = 3 * time.Second
	// memberDownFor is how long one etcd member is stopped.
	memberDownFor = 20 * time.Second
)

var clusterNodes = []string{"n1", "n2", "n3"}

// TestClusterOfThreeAgents runs three agent processes (simulated runtime)
// on a three-member etcd cluster with TLS and client certificates:
//
//   - an app pinned to each node runs there and only there;
//   - one etcd member stopped for 20 s costs no tick (every node's
//     observations continue) and no policy step;
//   - an agent killed with kill -9 has its app lost, as `sluice get apps`
//     shows, within its heartbeat TTL plus one interval; started again, its
//     app is ready again.
func TestClusterOfThreeAgents(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, Certs: &certs})
	cli := cluster.Client(t)
	c := &testCluster{t: t, bin: sluiceBinary(t), cluster: cluster, certs: certs, metrics: map[string]string{}}
	root, err := dockertest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c.policies = snapshotPolicies(t, filepath.Join(root, "policies"))
	kills := map[string]func(){}
	for _, node := range clusterNodes {
		kills[node] = c.startAgent(node)
		putKey(t, cli, state.Keys.App(node, "svc-"+node), clusterSpec(node))
	}
	for _, node := range clusterNodes {
		c.waitPhase("svc-"+node, state.Ready)
	}
	c.checkPinned(cli)

	c.memberOutage(cli)

	killed := clusterNodes[2]
	kills[killed]()
	down := time.Now()
	c.waitPhase("svc-"+killed, state.Lost)
	took := time.Since(down)
	t.Logf("%s killed with SIGKILL: svc-%s lost after %v, as `sluice get apps` shows", killed, killed, took.Round(time.Millisecond))
	if limit := clusterHeartbeatTTL + clusterInterval; took > limit {
		t.Errorf("svc-%s was lost %v after its agent was killed, want within %v", killed, took, limit)
	}
	for _, node := range clusterNodes[:2] {
		if row := c.app("svc-" + node); row.Phase != state.Ready {
			t.Errorf("svc-%s on a live node is %s", node, row.Phase)
		}
	}
	c.startAgent(killed)
	c.waitPhase("svc-"+killed, state.Ready)
}

// testCluster is the etcd cluster, the agents' binary and their settings.
type testCluster struct {
	t        *testing.T
	bin      string
	cluster  *etcdtest.Cluster
	certs    etcdtest.Certs
	policies string
	// metrics is each node's metrics address.
	metrics map[string]string
}

// tlsFlags are the flags every command needs to reach the cluster.
func (c *testCluster) tlsFlags() []string {
	return []string{
		"--etcd-endpoints", strings.Join(c.cluster.Endpoints(), ","),
		"--etcd-cacert", c.certs.CA, "--etcd-cert", c.certs.ClientCert, "--etcd-key", c.certs.ClientKey,
	}
}

// startAgent runs node's agent as a process and returns its kill -9.
func (c *testCluster) startAgent(node string) (kill func()) {
	c.t.Helper()
	metricsAddr := freeTCPAddr(c.t)
	c.metrics[node] = metricsAddr
	args := append([]string{"agent", "--runtime", "sim", "--node", node,
		"--interval", clusterInterval.String(), "--heartbeat-ttl", clusterHeartbeatTTL.String(),
		"--policy-dir", c.policies, "--metrics-addr", metricsAddr, "--traces=false"}, c.tlsFlags()...)
	cmd, _ := startProcess(c.t, c.bin, args, "agent "+node+" to serve its metrics", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return func() {
		if err := cmd.Process.Kill(); err != nil {
			c.t.Fatal(err)
		}
	}
}

// clusterSpec is node's app: a latency-critical service and a best-effort
// hog sharing a core.
func clusterSpec(node string) string {
	return fmt.Sprintf(`{"name":"svc-%s","node":"%s","containers":[
		{"name":"api","image":"sluice/sineload:dev","class":"latency-critical","cpuset":"0","demand":{"kind":"constant","value":0.5}},
		{"name":"hog","image":"sluice/cpuhog:dev","class":"best-effort","cpuset":"0","demand":{"kind":"constant","value":1.0}}]}`, node, node)
}

// apps is `sluice get apps -o json`, as any machine with the certificates
// runs it.
func (c *testCluster) apps() []appRow {
	c.t.Helper()
	var stdout, stderr strings.Builder
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(append([]string{"get", "apps", "-o", "json"}, c.tlsFlags()...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		c.t.Fatalf("sluice get apps: %v\n%s", err, stderr.String())
	}
	var rows []appRow
	if err := json.Unmarshal([]byte(stdout.String()), &rows); err != nil {
		c.t.Fatalf("sluice get apps -o json: %v\n%s", err, stdout.String())
	}
	return rows
}

func (c *testCluster) app(name string) appRow {
	c.t.Helper()
	for _, row := range c.apps() {
		if row.Name == name {
			return row
		}
	}
	return appRow{}
}

func (c *testCluster) waitPhase(app string, phase state.Phase) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		row := c.app(app)
		if row.Phase == phase {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s is %q after a minute, want %s", app, row.Phase, phase)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkPinned holds each app to its node: listed once, with its node, and
// each node's observation names only its own app's containers.
func (c *testCluster) checkPinned(cli *clientv3.Client) {
	c.t.Helper()
	for _, row := range c.apps() {
		if want := "svc-" + row.Node; row.Name != want {
			c.t.Errorf("app %s listed on node %s", row.Name, row.Node)
		}
	}
	for _, node := range clusterNodes {
		want := []string{"svc-" + node + "/api", "svc-" + node + "/hog"}
		var observed []string
		deadline := time.Now().Add(10 * clusterInterval)
		for !slices.Equal(observed, want) && time.Now().Before(deadline) {
			time.Sleep(clusterInterval / 4)
			observed = observedContainers(c.t, cli, node)
		}
		if !slices.Equal(observed, want) {
			c.t.Errorf("node %s observes %v, want %v", node, observed, want)
		}
	}
}

// observedContainers are the containers of node's latest observation,
// sorted; none before its first.
func observedContainers(t *testing.T, cli *clientv3.Client, node string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, state.Keys.Observation(node))
	if err != nil {
		t.Fatalf("get the observation of %s: %v", node, err)
	}
	var ids []string
	for _, kv := range resp.Kvs {
		var obs state.Observation
		if err := json.Unmarshal(kv.Value, &obs); err != nil {
			t.Fatalf("observation of %s: %v", node, err)
		}
		for _, container := range obs.Containers {
			ids = append(ids, container.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// memberOutage stops one etcd member for memberDownFor and checks that
// every node kept observing and deciding once per interval throughout.
func (c *testCluster) memberOutage(cli *clientv3.Client) {
	c.t.Helper()
	steps := c.policySteps()
	startRev := storeRevision(c.t, cli)
	start := time.Now()
	c.cluster.Stop(0)
	time.Sleep(memberDownFor)
	c.cluster.Start(0)
	took := time.Since(start)
	events := historySince(c.t, cli, startRev)
	after := c.policySteps()
	want := int(took / clusterInterval)
	for _, node := range clusterNodes {
		written := countEvents(events, state.Keys.Observation(node), clientv3.EventTypePut)
		stepped := after[node] - steps[node]
		c.t.Logf("%s with member0 down for %v: %d observations written, %v policy steps, %d intervals",
			node, took.Round(time.Millisecond), written, stepped, want)
		if math.Abs(float64(written-want)) > tickSlack {
			c.t.Errorf("%s wrote %d observations in %d intervals, want one each ±%d", node, written, want, tickSlack)
		}
		if math.Abs(stepped-float64(want)) > tickSlack {
			c.t.Errorf("%s took %v policy steps in %d intervals, want one each ±%d", node, stepped, want, tickSlack)
		}
		if errs := c.policyErrors(node); errs != 0 {
			c.t.Errorf("%s: %v policy errors", node, errs)
		}
	}
}

// policySteps is each node's count of policy steps, of every outcome.
func (c *testCluster) policySteps() map[string]float64 {
	steps := map[string]float64{}
	for _, node := range clusterNodes {
		steps[node] = metricValue(c.t, c.metrics[node], "sluice_policy_steps_total")
	}
	return steps
}

// policyErrors counts node's policy steps that kept the last decision
// because the policy failed.
func (c *testCluster) policyErrors(node string) float64 {
	family := scrapeMetrics(c.t, c.metrics[node])["sluice_policy_steps_total"]
	for _, m := range family.GetMetric() {
		for _, label := range m.GetLabel() {
			if label.GetName() == "outcome" && label.GetValue() == "policy_error" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func putKey(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}
