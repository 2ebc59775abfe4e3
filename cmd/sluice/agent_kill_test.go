package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/state"
)

// killApps are the apps the kill test runs: two containers each, so that a
// kill can fall between the creates, recreates and removes of one app.
var killApps = []string{"ka", "kb", "kc"}

// TestDockerAgentSurvivesKill9 runs the agent binary as a child process and
// kills it with SIGKILL at ten points of applying, updating and deleting
// apps, restarting it each time on the same data dir. The points are fixed
// moments, found by polling the engine and the store every 20 ms:
//
//  1. right after the apply of three apps returns;
//  2. when the first of their containers exists;
//  3. when the first app is ready;
//  4. right after the apply of a spec that recreates every container;
//  5. when the first container of the new spec exists;
//  6. when the first app is ready on the new spec;
//  7. right after the delete of kc;
//  8. when kc has lost its first container;
//  9. right after the delete of kb;
//  10. when kb is terminated.
//
// Once the last agent converges: one container per container ID, none
// without a spec, and each app's status answers its spec's revision and
// names the containers the engine runs.
func TestDockerAgentSurvivesKill9(t *testing.T) {
	n := newDockerNode(t)
	bin := sluiceBinary(t)
	root, err := dockertest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	policies := snapshotPolicies(t, filepath.Join(root, "policies"))
	var agent *killableAgent
	restart := func() { agent = startKillableAgent(t, n, bin, policies) }
	kill := func(point string) {
		agent.kill()
		t.Logf("kill -9 %s", point)
		restart()
	}
	restart()
	defer func() { agent.stop() }()

	n.apply(killSpecs("1h")...)
	kill("1: right after the apply")
	n.poll(func() bool { return len(n.containersByLabel()) > 0 })
	kill("2: at the first container")
	n.poll(func() bool { return n.anyReady(killApps, 0) })
	kill("3: at the first ready app")
	n.waitConverged(killApps)
	v1 := n.specHashes()

	n.apply(killSpecs("2h")...)
	kill("4: right after the update")
	n.poll(func() bool { return n.hasNewHash(v1) })
	kill("5: at the first recreated container")
	n.poll(func() bool { return n.anyReady(killApps, n.specRevision("ka")) })
	kill("6: at the first app ready on the new spec")
	n.waitConverged(killApps)

	n.deleteApp("kc")
	kill("7: right after the delete of kc")
	n.poll(func() bool { return len(n.containersByLabel()["kc/b"])+len(n.containersByLabel()["kc/a"]) < 2 })
	kill("8: at kc's first container removed")
	n.deleteApp("kb")
	kill("9: right after the delete of kb")
	n.poll(func() bool { return n.status("kb").Phase == state.Terminated })
	kill("10: at kb terminated")

	n.waitConverged([]string{"ka"})
	n.waitPhase("kb", state.Terminated)
	n.waitPhase("kc", state.Terminated)
	n.checkConverged(t, []string{"ka"})
}

// killSpecs are the apps with their sinks reporting every interval; a new
// interval is a new spec hash, which recreates every container.
func killSpecs(interval string) []state.AppSpec {
	specs := make([]state.AppSpec, len(killApps))
	for i, app := range killApps {
		sink := idleSpec(app).Containers[0]
		sink.Cmd = []string{"sink", "--listen", ":5001", "--interval", interval}
		a, b := sink, sink
		a.Name, b.Name = "a", "b"
		specs[i] = state.AppSpec{Name: app, Containers: []state.ContainerSpec{a, b}}
	}
	return specs
}

// poll checks ok every 20 ms, for a kill at the moment it first holds.
func (n *dockerNode) poll(ok func() bool) {
	n.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			n.t.Fatal("the kill point was not reached within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// anyReady says whether one of apps is ready at spec revision rev or later.
func (n *dockerNode) anyReady(apps []string, rev int64) bool {
	for _, app := range apps {
		if s := n.status(app); s.Phase == state.Ready && s.SpecRevision >= rev {
			return true
		}
	}
	return false
}

// specHashes are the spec-hash labels of the node's containers.
func (n *dockerNode) specHashes() map[string]bool {
	hashes := map[string]bool{}
	containers, err := n.rt.List(n.t.Context())
	if err != nil {
		n.t.Fatal(err)
	}
	for _, c := range containers {
		hashes[c.SpecHash] = true
	}
	return hashes
}

func (n *dockerNode) hasNewHash(old map[string]bool) bool {
	for hash := range n.specHashes() {
		if !old[hash] {
			return true
		}
	}
	return false
}

// specRevision is the revision of app's spec in the store.
func (n *dockerNode) specRevision(app string) int64 {
	n.t.Helper()
	cli, err := state.Dial(state.ClientConfig{Endpoints: []string{n.endpoint}})
	if err != nil {
		n.t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, state.Keys.App(n.name, app))
	if err != nil || len(resp.Kvs) != 1 {
		n.t.Fatalf("read the spec of %s: %v (%d keys)", app, err, len(resp.Kvs))
	}
	return resp.Kvs[0].ModRevision
}

func (n *dockerNode) deleteApp(app string) {
	n.t.Helper()
	if out, err := runCLI(n.endpoint, "delete", "app", app); err != nil {
		n.t.Fatalf("delete app %s: %v\n%s", app, err, out)
	}
}

// waitConverged waits for every app to be ready on its current spec.
func (n *dockerNode) waitConverged(apps []string) {
	n.t.Helper()
	for _, app := range apps {
		rev := n.specRevision(app)
		waitUntil(n.t, time.Minute, app+" ready on its spec", func() bool {
			s := n.status(app)
			return s.Phase == state.Ready && s.SpecRevision == rev
		})
	}
}

// checkConverged holds the node to its specs: one container per ID, none
// of an app or container without a spec, and each status at its spec's
// revision, naming the running containers the engine lists.
func (n *dockerNode) checkConverged(t *testing.T, apps []string) {
	byID := n.containersByLabel()
	want := map[string]bool{}
	for _, app := range apps {
		for _, c := range []string{"a", "b"} {
			want[state.ContainerID(app, c)] = true
		}
	}
	duplicates, orphans := 0, 0
	for id, runtimeIDs := range byID {
		if len(runtimeIDs) > 1 {
			duplicates++
			t.Errorf("%s has %d containers: %v", id, len(runtimeIDs), runtimeIDs)
		}
		if !want[id] {
			orphans++
			t.Errorf("container %s has no spec: %v", id, runtimeIDs)
		}
	}
	stale := 0
	for _, app := range apps {
		status, rev := n.status(app), n.specRevision(app)
		if status.SpecRevision != rev {
			stale++
			t.Errorf("%s: status at spec revision %d, the spec is at %d", app, status.SpecRevision, rev)
		}
		for _, c := range status.Containers {
			ids := byID[state.ContainerID(app, c.Name)]
			if !c.Running || len(ids) != 1 || ids[0] != c.RuntimeID {
				t.Errorf("%s/%s: status names %.12s (running %v), the engine has %v", app, c.Name, c.RuntimeID, c.Running, ids)
			}
		}
		if len(status.Containers) != 2 {
			t.Errorf("%s: status names %d containers, want 2", app, len(status.Containers))
		}
	}
	t.Logf("after ten kills: %d containers, %d duplicated, %d orphaned, %d stale statuses", len(byID), duplicates, orphans, stale)
}

// killableAgent is the agent binary in a child process of the test's.
type killableAgent struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan error
	logs   string
}

// startKillableAgent starts the agent of node n with its embedded etcd on
// n's data dir, and returns once it serves its metrics, which it does after
// registering and starting its loops.
func startKillableAgent(t *testing.T, n *dockerNode, bin, policies string) *killableAgent {
	t.Helper()
	logs, err := os.CreateTemp(t.TempDir(), "agent-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	metricsAddr := freeTCPAddr(t)
	cmd := exec.Command(bin, "agent", "--runtime", "docker", "--node", n.name,
		"--data-dir", n.dataDir, "--listen-client", n.endpoint, "--listen-peer", n.peerURL,
		"--interval", "200ms", "--policy-dir", policies, "--metrics-addr", metricsAddr, "--traces=false")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s agent: %v", bin, err)
	}
	a := &killableAgent{t: t, cmd: cmd, exited: make(chan error, 1), logs: logs.Name()}
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(a.logs)
			t.Logf("agent %d logs:\n%s", cmd.Process.Pid, data)
		}
	})
	waitUntil(t, time.Minute, "the agent process to serve its metrics", func() bool {
		select {
		case err := <-a.exited:
			a.exited <- err
			data, _ := os.ReadFile(a.logs)
			t.Fatalf("agent exited early: %v\n%s", err, data)
		default:
		}
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return a
}

// kill ends the agent with SIGKILL and waits for it.
func (a *killableAgent) kill() {
	a.t.Helper()
	if err := a.cmd.Process.Kill(); err != nil {
		a.t.Fatal(err)
	}
	<-a.exited
}

// stop ends the agent with SIGTERM, as an operator does.
func (a *killableAgent) stop() {
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		_ = a.cmd.Process.Kill()
		a.t.Errorf("agent ignored SIGINT for 15 s")
	}
}
