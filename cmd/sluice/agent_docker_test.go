package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// dockerNode is a node of the test's own on the local Docker engine: a
// unique name, a data directory and etcd endpoint that outlive one agent
// (so a second agent can take over), and a runtime the test inspects the
// node's containers with. Every container on the node is removed when the
// test ends, after its agents have stopped.
type dockerNode struct {
	t        testing.TB
	name     string
	dataDir  string
	endpoint string
	peerURL  string
	// external says endpoint is an etcd of the test's own, which the
	// agents join instead of serving their embedded one.
	external bool
	rt       *docker.Runtime
}

func newDockerNode(t testing.TB) *dockerNode {
	t.Helper()
	testenv.RequireDocker(t)
	testenv.RequireCgroups(t)
	n := &dockerNode{
		t: t, name: dockertest.NodeName(t), dataDir: t.TempDir(),
		endpoint: "http://" + freeTCPAddr(t), peerURL: "http://" + freeTCPAddr(t),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logger := dockertest.Logger(t)
	if _, bench := t.(*testing.B); bench {
		logger = slog.New(slog.DiscardHandler) // keep benchmark output to its figures
	}
	rt, err := docker.New(ctx, docker.Config{Node: n.name, StopTimeout: time.Second}, logger)
	if err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	n.rt = rt
	t.Cleanup(func() {
		dockertest.RemoveAll(t, rt)
		rt.Close()
	})
	for _, image := range []string{docker.Sineload, docker.CPUHog, docker.Netload} {
		dockertest.Image(t, rt, image)
	}
	return n
}

// runningAgent is an agent started in the test's process.
type runningAgent struct {
	cancel context.CancelFunc
	done   chan error
	logs   *testenv.Buffer
	once   sync.Once
	err    error
}

// startAgent runs `sluice agent --runtime docker` for the node in-process
// and waits for its registration; adjust changes its options first. It
// stops when the test ends, if the test has not stopped it before.
func (n *dockerNode) startAgent(adjust ...func(*agentOptions)) *runningAgent {
	t := n.t
	t.Helper()
	ao := n.agentOptions()
	for _, f := range adjust {
		f(ao)
	}
	logs := &testenv.Buffer{}
	opts := &globalOptions{endpoints: []string{n.endpoint}, logLevel: "info", stdout: logs, stderr: logs}
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningAgent{cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { a.done <- runAgent(ctx, opts, ao, n.external) }()
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("agent stopped with %v", err)
		}
		if t.Failed() {
			t.Logf("agent logs:\n%s", logs.String())
		}
	})
	waitUntil(t, 30*time.Second, "the agent's node registration", func() bool {
		select {
		case err := <-a.done:
			t.Fatalf("agent exited early: %v\n%s", err, logs.String())
		default:
		}
		return n.registered()
	})
	return a
}

// agentOptions are the options of an agent of the node: its name, data
// and ports, the Docker runtime and the shipped policies.
func (n *dockerNode) agentOptions() *agentOptions {
	return &agentOptions{
		node: n.name, runtime: "docker", dataDir: n.dataDir,
		clientURL: n.endpoint, peerURL: n.peerURL,
		interval: 200 * time.Millisecond, policyDir: "../../policies",
		heartbeatTTL: 10 * time.Second,
	}
}

func (n *dockerNode) registered() bool {
	out, err := runCLI(n.endpoint, "get", "nodes", "-o", "json")
	return err == nil && strings.Contains(out, strconv.Quote(n.name))
}

// runCLI runs the command line in-process against endpoint.
func runCLI(endpoint string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	root := newRootCommand(&stdout, &stderr)
	root.SetArgs(append(args, "--etcd-endpoints", endpoint))
	err := root.ExecuteContext(context.Background())
	return stdout.String(), err
}

// waitUntil polls ok until it holds, failing tb after timeout.
func waitUntil(tb testing.TB, timeout time.Duration, what string, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCPAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// stop ends the agent gracefully, as SIGTERM does, and returns its error.
func (a *runningAgent) stop() error {
	a.once.Do(func() {
		a.cancel()
		a.err = <-a.done
	})
	return a.err
}

// apply writes specs to files and applies them with the CLI.
func (n *dockerNode) apply(specs ...state.AppSpec) {
	t := n.t
	t.Helper()
	args := []string{"apply"}
	for _, spec := range specs {
		spec.Node = n.name
		data, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), spec.Name+".json")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-f", file)
	}
	if out, err := runCLI(n.endpoint, args...); err != nil {
		t.Fatalf("sluice %v: %v\n%s", args, err, out)
	}
}

// status is the app's current status as `sluice get apps` shows it.
func (n *dockerNode) status(app string) state.AppStatus {
	n.t.Helper()
	out, err := runCLI(n.endpoint, "get", "apps", "-o", "json")
	var rows []appRow
	if err == nil {
		err = json.Unmarshal([]byte(out), &rows)
	}
	if err != nil {
		n.t.Fatalf("get apps -o json: %v\n%s", err, out)
	}
	var row appRow
	for _, r := range rows {
		if r.Name == app {
			row = r
		}
	}
	if row.Status == nil {
		return state.AppStatus{Phase: row.Phase, Error: row.Error}
	}
	return *row.Status
}

func (n *dockerNode) waitPhase(app string, phase state.Phase) state.AppStatus {
	n.t.Helper()
	var status state.AppStatus
	waitUntil(n.t, 30*time.Second, fmt.Sprintf("app %s to be %s", app, phase), func() bool {
		status = n.status(app)
		return status.Phase == phase
	})
	return status
}

// transitions are the app's lifecycle steps as `sluice describe app` shows
// them, "from->to:event".
func (n *dockerNode) transitions(app string) []string {
	n.t.Helper()
	out, err := runCLI(n.endpoint, "describe", "app", app, "-o", "json")
	if err != nil {
		n.t.Fatalf("describe app %s: %v", app, err)
	}
	var desc struct {
		Transitions []state.Transition `json:"transitions"`
	}
	if err := json.Unmarshal([]byte(out), &desc); err != nil {
		n.t.Fatalf("describe app %s -o json: %v\n%s", app, err, out)
	}
	steps := make([]string, len(desc.Transitions))
	for i, tr := range desc.Transitions {
		steps[i] = fmt.Sprintf("%s->%s:%s", tr.From, tr.To, tr.Event)
	}
	return steps
}

// containersByLabel counts the node's containers per container ID, from
// the engine's own listing by label, running or not.
func (n *dockerNode) containersByLabel() map[string][]string {
	n.t.Helper()
	res, err := n.rt.Client().ContainerList(context.Background(), client.ContainerListOptions{
		All: true, Filters: client.Filters{}.Add("label", docker.LabelNode+"="+n.name),
	})
	if err != nil {
		n.t.Fatalf("list the node's containers: %v", err)
	}
	byID := map[string][]string{}
	for _, c := range res.Items {
		id := state.ContainerID(c.Labels[docker.LabelApp], c.Labels[docker.LabelContainer])
		byID[id] = append(byID[id], c.ID)
	}
	return byID
}

// inspect returns a container's engine record; found is false once it is gone.
func (n *dockerNode) inspect(runtimeID string) (client.ContainerInspectResult, bool) {
	n.t.Helper()
	res, err := n.rt.Client().ContainerInspect(context.Background(), runtimeID, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return res, false
	}
	if err != nil {
		n.t.Fatalf("inspect %s: %v", runtimeID, err)
	}
	return res, true
}

// idleSpec is an app of one container that waits and does nothing: a
// netload sink nobody sends to, reporting once an hour.
func idleSpec(name string) state.AppSpec {
	return state.AppSpec{Name: name, Containers: []state.ContainerSpec{{
		Name: "sink", Image: docker.WorkloadImage(docker.Netload), Class: state.BestEffort,
		Cmd: []string{"sink", "--listen", ":5001", "--interval", "1h"},
	}}}
}

// TestDockerAgentLifecycle takes an app through the FSM on real containers:
// applied, its container runs with sluice's labels and the app is ready;
// deleted, the container goes and the app is terminated.
func TestDockerAgentLifecycle(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	n.apply(idleSpec("lc"))
	status := n.waitPhase("lc", state.Ready)
	if len(status.Containers) != 1 || !status.Containers[0].Running || status.Containers[0].RuntimeID == "" {
		t.Fatalf("ready status %+v, want one running container", status)
	}
	sink := status.Containers[0]
	res, found := n.inspect(sink.RuntimeID)
	if !found || res.Container.State == nil || !res.Container.State.Running {
		t.Fatalf("container %s of a ready app is not running: %+v", sink.RuntimeID, res.Container.State)
	}
	wantLabels := map[string]string{
		docker.LabelManaged: "true", docker.LabelNode: n.name, docker.LabelApp: "lc",
		docker.LabelContainer: "sink", docker.LabelGUID: sink.GUID, docker.LabelClass: string(state.BestEffort),
	}
	for label, want := range wantLabels {
		if got := res.Container.Config.Labels[label]; got != want || want == "" {
			t.Errorf("label %s = %q, want %q", label, got, want)
		}
	}
	if !strings.HasPrefix(sink.GUID, "netload-") {
		t.Errorf("GUID %q, want the image name and a suffix", sink.GUID)
	}

	if out, err := sluice(t, n.endpoint, "delete", "app", "lc"); err != nil {
		t.Fatalf("delete app lc: %v\n%s", err, out)
	}
	n.waitPhase("lc", state.Terminated)
	if _, found := n.inspect(sink.RuntimeID); found {
		t.Errorf("container %s is still there after the app terminated", sink.RuntimeID)
	}
	if left := n.containersByLabel(); len(left) != 0 {
		t.Errorf("containers left on the node: %v", left)
	}
	want := "->pending:create pending->ready:all-running ready->terminating:delete terminating->terminated:removed"
	if got := strings.Join(n.transitions("lc"), " "); got != want {
		t.Errorf("describe app lc transitions:\n got  %s\n want %s", got, want)
	}
}

// TestDockerAgentRestartsKilledContainer kills a container the way a crash
// would (SIGKILL through the engine): Docker's die event fails the app, the
// restart backoff passes, a new container replaces the dead one under the
// same GUID and the restart is counted.
func TestDockerAgentRestartsKilledContainer(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	n.apply(idleSpec("crashy"))
	before := n.waitPhase("crashy", state.Ready).Containers[0]

	victim := state.Container{ID: "crashy/sink", RuntimeID: before.RuntimeID}
	if err := n.rt.Kill(context.Background(), victim, "KILL"); err != nil {
		t.Fatal(err)
	}
	var after state.ContainerStatus
	waitFor(t, "the app to be ready again on a new container", func() bool {
		status := n.status("crashy")
		if status.Phase != state.Ready || len(status.Containers) != 1 || status.Restarts != 1 {
			return false
		}
		after = status.Containers[0]
		return after.RuntimeID != before.RuntimeID
	})
	if after.GUID != before.GUID {
		t.Errorf("GUID %s after the restart, want %s kept", after.GUID, before.GUID)
	}
	if _, found := n.inspect(before.RuntimeID); found {
		t.Errorf("the dead container %s was not removed", before.RuntimeID)
	}
	if byID := n.containersByLabel(); len(byID["crashy/sink"]) != 1 {
		t.Errorf("containers of crashy/sink: %v, want one", byID["crashy/sink"])
	}
	want := "->pending:create pending->ready:all-running ready->failed:container-failed failed->pending:restart pending->ready:all-running"
	if got := strings.Join(n.transitions("crashy"), " "); got != want {
		t.Errorf("describe app crashy transitions:\n got  %s\n want %s", got, want)
	}
	if out, _ := sluice(t, n.endpoint, "describe", "app", "crashy", "-o", "json"); !strings.Contains(out, "137") {
		t.Errorf("describe app crashy does not name the exit code 137 of the kill:\n%s", out)
	}
}

// TestDockerAgentRestartsOOMKilledContainer gives a container a memory
// limit below what it holds: the kernel kills it, Docker reports it
// OOM-killed, the app fails with a reason that says so, and the restart
// backoff brings it back (to be killed again).
func TestDockerAgentRestartsOOMKilledContainer(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	limit := int64(32 << 20)
	n.apply(state.AppSpec{Name: "greedy", Containers: []state.ContainerSpec{{
		Name: "hog", Image: docker.WorkloadImage(docker.CPUHog), Class: state.BestEffort,
		Cmd:       []string{"--hold-mib", "128"},
		Resources: state.Resources{MemoryBytes: &limit},
	}}})
	waitFor(t, "the app to fail and be restarted", func() bool { return n.status("greedy").Restarts >= 1 })
	out, err := sluice(t, n.endpoint, "describe", "app", "greedy", "-o", "json")
	if err != nil || !strings.Contains(out, "greedy/hog was OOM-killed (exit code 137)") {
		t.Errorf("describe app greedy does not say greedy/hog was OOM-killed: err=%v\n%s", err, out)
	}
	if got := strings.Join(n.transitions("greedy"), " "); !strings.Contains(got, "->failed:container-failed failed->pending:restart") {
		t.Errorf("greedy's transitions %s: want a failure for the container and a restart", got)
	}
}

// TestDockerAgentAdoptsContainersAfterRestart stops the agent (its
// containers keep running) and starts another on the same node and data:
// the new one adopts every container, creates no duplicate and leaves the
// apps ready on the same containers.
func TestDockerAgentAdoptsContainersAfterRestart(t *testing.T) {
	n := newDockerNode(t)
	first := n.startAgent()
	n.apply(idleSpec("keep-a"), idleSpec("keep-b"))
	before := map[string]string{}
	for _, app := range []string{"keep-a", "keep-b"} {
		before[app] = n.waitPhase(app, state.Ready).Containers[0].RuntimeID
	}
	stepsBefore := len(n.transitions("keep-a"))
	if err := first.stop(); err != nil {
		t.Fatalf("first agent: %v", err)
	}
	for app, id := range before {
		if res, found := n.inspect(id); !found || !res.Container.State.Running {
			t.Fatalf("%s's container %s stopped with the agent; it must keep running", app, id)
		}
	}

	n.startAgent()
	// A new app becoming ready proves the new agent's reconciler has
	// listed the node and acted on it: any duplicate would exist by now.
	n.apply(idleSpec("late"))
	n.waitPhase("late", state.Ready)
	byID := n.containersByLabel()
	for app, id := range before {
		ids := byID[state.ContainerID(app, "sink")]
		if len(ids) != 1 || ids[0] != id {
			t.Errorf("containers of %s after the restart: %v, want only the adopted %s", app, ids, id)
		}
		status := n.status(app)
		if status.Phase != state.Ready || status.Restarts != 0 || status.Containers[0].RuntimeID != id {
			t.Errorf("%s after the restart: phase %s, restarts %d, container %s; want ready on %s",
				app, status.Phase, status.Restarts, status.Containers[0].RuntimeID, id)
		}
	}
	if steps := n.transitions("keep-a"); len(steps) != stepsBefore {
		t.Errorf("the restart added transitions to keep-a: %v", steps[stepsBefore:])
	}
	if len(byID) != 3 {
		t.Errorf("containers on the node: %v, want keep-a, keep-b and late", byID)
	}
}

// TestDockerAgentAppliesQuotaAndCpuset checks the settings in the kernel:
// a spec's initial quota, shares and cpuset in its container's cgroup, and
// the weight and quota the shield policy decides for a hog next to a
// victim.
func TestDockerAgentAppliesQuotaAndCpuset(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	quota, shares := 0.3, uint64(256)
	capped := idleSpec("capped")
	capped.Containers[0].CPUSet = "1"
	capped.Containers[0].Resources = state.Resources{CPUQuotaCores: &quota, CPUShares: &shares}
	n.apply(capped, shieldSpec("victim", docker.Sineload, state.LatencyCritical), shieldSpec("hog", docker.CPUHog, state.BestEffort))

	settings := n.cgroupSettings(n.waitPhase("capped", state.Ready).Containers[0].RuntimeID)
	if settings.quotaMicros != 30000 || settings.periodMicros != 100000 || settings.cpus != "1" || settings.shares != 256 {
		t.Errorf("capped's cgroup: %+v, want quota 30000 of period 100000 us, shares 256, cpus 1", settings)
	}

	hog := n.waitPhase("hog", state.Ready).Containers[0].RuntimeID
	n.waitPhase("victim", state.Ready)
	var decided state.ContainerDecision
	var got cgroupSettings
	waitFor(t, "the hog's cgroup to hold the decided weight and quota", func() bool {
		before := n.decided("hog/cpuhog")
		got = n.cgroupSettings(hog)
		decided = n.decided("hog/cpuhog")
		return reflect.DeepEqual(before, decided) && decided.CPUShares != nil &&
			got.shares == *decided.CPUShares && got.quotaMicros == quotaMicros(decided.CPUQuotaCores, got.periodMicros)
	})
	t.Logf("hog: decided %s, cgroup %+v; capped: %+v", formatDecision(decided), got, settings)
	if got.shares != 2 || got.cpus != "0" {
		t.Errorf("hog: cgroup %+v; want the lowest weight, 2 shares, on cpu 0", got)
	}
}

// quotaMicros is a quota in cores as a cgroup holds it: -1 for none.
func quotaMicros(cores *float64, periodMicros int64) int64 {
	if cores == nil {
		return -1
	}
	return int64(*cores*float64(periodMicros) + 0.5)
}

func formatDecision(d state.ContainerDecision) string {
	data, _ := json.Marshal(d)
	return string(data)
}

// shieldSpec is one side of the headline case, pinned to CPU 0.
func shieldSpec(app, workload string, class state.Class) state.AppSpec {
	return state.AppSpec{Name: app, Containers: []state.ContainerSpec{{
		Name: workload, Image: docker.WorkloadImage(workload), Class: class, CPUSet: "0",
	}}}
}

// decided is what the node's latest decision gives container id; zero
// while there is none.
func (n *dockerNode) decided(id string) state.ContainerDecision {
	n.t.Helper()
	out, err := runCLI(n.endpoint, "get", "decisions", "-o", "json")
	var decisions []state.Decision
	if err != nil || json.Unmarshal([]byte(out), &decisions) != nil {
		n.t.Fatalf("get decisions: %v\n%s", err, out)
	}
	for _, d := range decisions {
		if d.Node == n.name {
			return d.Containers[id]
		}
	}
	return state.ContainerDecision{}
}

// cgroupSettings are what the kernel holds for a container's CPU.
type cgroupSettings struct {
	quotaMicros  int64 // -1: no limit
	periodMicros int64
	shares       uint64
	cpus         string
}

// cgroupSettings reads the container's cgroup files directly, as an
// operator would, rather than through the actuator under test.
func (n *dockerNode) cgroupSettings(runtimeID string) cgroupSettings {
	t := n.t
	t.Helper()
	res, found := n.inspect(runtimeID)
	if !found || res.Container.State == nil || res.Container.State.Pid == 0 {
		t.Fatalf("container %s is not running", runtimeID)
	}
	version, err := cgroupfs.DetectVersion()
	if err != nil {
		t.Fatal(err)
	}
	group, err := cgroupfs.GroupOfPID("/proc", version, res.Container.State.Pid)
	if err != nil {
		t.Fatal(err)
	}
	read := func(controllerName, file string) string {
		dir, err := group.Dir(cgroupfs.DefaultRoot, controllerName)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(data))
	}
	if version == cgroupfs.V2 {
		return v2Settings(t, read("cpu", "cpu.max"), read("cpu", "cpu.weight"), read("cpuset", "cpuset.cpus"))
	}
	var s cgroupSettings
	s.quotaMicros = parseInt(t, read("cpu", "cpu.cfs_quota_us"))
	s.periodMicros = parseInt(t, read("cpu", "cpu.cfs_period_us"))
	s.shares = uint64(parseInt(t, read("cpu", "cpu.shares")))
	s.cpus = read("cpuset", "cpuset.cpus")
	return s
}

func v2Settings(t testing.TB, cpuMax, weight, cpus string) cgroupSettings {
	quota, period, _ := strings.Cut(cpuMax, " ")
	s := cgroupSettings{quotaMicros: -1, periodMicros: parseInt(t, period), cpus: cpus}
	if quota != "max" {
		s.quotaMicros = parseInt(t, quota)
	}
	s.shares = cgroupfs.SharesFromWeight(uint64(parseInt(t, weight)))
	return s
}

func parseInt(t testing.TB, text string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		t.Fatalf("cgroup value %q: %v", text, err)
	}
	return v
}

// TestDockerAgentReportsMalformedSpec writes bad intent with etcdctl next
// to a running app: each bad spec fails with an error that says what is
// wrong, and the running app keeps its container.
func TestDockerAgentReportsMalformedSpec(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	n.apply(idleSpec("steady"))
	steady := n.waitPhase("steady", state.Ready).Containers[0].RuntimeID

	etcdctl(t, n.endpoint, "put", state.Keys.App(n.name, "garbage"), "{not json")
	etcdctl(t, n.endpoint, "put", state.Keys.App(n.name, "typo"),
		fmt.Sprintf(`{"name":"typo","node":%q,"containers":[{"name":"x","image":"sluice/cpuhog:dev","clas":"best-effort"}]}`, n.name))
	etcdctl(t, n.endpoint, "put", state.Keys.App(n.name, "noimage"),
		fmt.Sprintf(`{"name":"noimage","node":%q,"containers":[{"name":"x","image":"sluice/does-not-exist:dev","class":"best-effort"}]}`, n.name))
	wantErrors := map[string]string{
		"garbage": state.Keys.App(n.name, "garbage"),
		"typo":    `unknown field "clas"`,
		"noimage": "image not found",
	}
	for app, want := range wantErrors {
		waitFor(t, app+" to fail with its error", func() bool {
			status := n.status(app)
			return status.Phase == state.Failed && strings.Contains(status.Error, want)
		})
	}

	status := n.status("steady")
	if status.Phase != state.Ready || status.Containers[0].RuntimeID != steady {
		t.Errorf("steady after the bad specs: %s on %s, want ready on %s", status.Phase, status.Containers[0].RuntimeID, steady)
	}
	if res, found := n.inspect(steady); !found || !res.Container.State.Running {
		t.Errorf("steady's container %s stopped", steady)
	}
	if out, err := sluice(t, n.endpoint, "get", "nodes", "-o", "json"); err != nil || !strings.Contains(out, strconv.Quote(n.name)) {
		t.Errorf("the node is no longer registered after the bad specs: %v\n%s", err, out)
	}
	if byID := n.containersByLabel(); len(byID["typo/x"])+len(byID["garbage/x"]) != 0 {
		t.Errorf("containers made from rejected specs: %v", byID)
	}
}
