package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// The agent's own cost is measured on the real binary, in a process of its
// own, so that its CPU time and resident memory are its alone.
const (
	idleContainers = 20
	idleInterval   = time.Second
	idleWarmUp     = 10 * time.Second
	idleStretch    = 30 * time.Second
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 for that interface on every architecture.
const userHZ = 100

// BenchmarkAgentIdle runs `sluice agent --runtime docker` at a 1 s interval
// on a node of idle containers and reports, over a 30 s stretch after a
// warm-up, the CPU it used in percent of one core and its peak resident
// memory. Targets, with 20 containers: ≤ 1 % and ≤ 64 MiB. The empty node
// is the baseline. One measurement per node, whatever b.N.
func BenchmarkAgentIdle(b *testing.B) {
	for _, count := range []int{0, idleContainers} {
		b.Run(fmt.Sprintf("containers=%d", count), func(b *testing.B) {
			cpuPercent, rssMiB := measureIdleAgent(b, count)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(cpuPercent, "cpu-%")
			b.ReportMetric(rssMiB, "rss-MiB")
		})
	}
}

func measureIdleAgent(b *testing.B, containers int) (cpuPercent, rssMiB float64) {
	n := newDockerNode(b)
	// Idle containers send no spans; BenchmarkAgentSpans measures what
	// spans cost.
	agent, _ := startAgentProcess(b, n, sluiceBinary(b), false)
	specs := make([]state.AppSpec, containers)
	for i := range specs {
		specs[i] = idleSpec(fmt.Sprintf("idle-%02d", i))
	}
	if containers > 0 {
		n.apply(specs...)
	}
	waitUntil(b, 3*time.Minute, "every idle app to be ready", func() bool {
		for _, spec := range specs {
			if n.status(spec.Name).Phase != state.Ready {
				return false
			}
		}
		return true
	})
	time.Sleep(idleWarmUp)
	return measureProcess(b, agent.Process.Pid, idleStretch)
}

// sluiceBinary is the binary under test: $SLUICE_BIN (make bench passes
// bin/sluice), else one built from the current source.
func sluiceBinary(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("SLUICE_BIN"); bin != "" {
		return bin
	}
	root, err := dockertest.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(tb.TempDir(), "sluice")
	build := exec.Command("go", "build", "-o", bin, "./cmd/sluice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build sluice: %v\n%s", err, out)
	}
	return bin
}

// startAgentProcess starts the agent binary for node n, with or without
// its trace receivers, and waits for its registration; it is stopped with
// SIGTERM when the benchmark ends, before the node's containers are
// removed. It returns the process and where it serves its metrics.
func startAgentProcess(tb testing.TB, n *dockerNode, bin string, withTraces bool) (*exec.Cmd, string) {
	tb.Helper()
	root, err := dockertest.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	metricsAddr := freeTCPAddr(tb)
	cmd, _ := startProcess(tb, bin, []string{"agent", "--runtime", "docker", "--node", n.name,
		"--data-dir", n.dataDir, "--listen-client", n.endpoint, "--listen-peer", n.peerURL,
		"--interval", idleInterval.String(), "--policy-dir", snapshotPolicies(tb, filepath.Join(root, "policies")),
		"--metrics-addr", metricsAddr, "--traces=" + strconv.FormatBool(withTraces),
		// Free ports, as another agent on the host may hold the standard ones.
		"--traces-ports", "otlp_grpc=0,otlp_http=0,jaeger_compact=0,jaeger_binary=0"},
		"the agent process to register its node", n.registered)
	return cmd, metricsAddr
}

// startProcess starts bin with args, its output in a log file shown if tb
// fails, and waits until ready holds. stop ends it with SIGTERM and checks
// that it exits cleanly; the end of tb stops it too.
func startProcess(tb testing.TB, bin string, args []string, what string, ready func() bool) (cmd *exec.Cmd, stop func()) {
	tb.Helper()
	logs, err := os.Create(filepath.Join(tb.TempDir(), "process.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd = exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s %s: %v", bin, args[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			// A SIGKILL is a test's own kill -9.
			if err != nil && !killedBySIGKILL(cmd) {
				tb.Errorf("%s exited with %v", args[0], err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			tb.Errorf("%s ignored SIGTERM for 15 s", args[0])
		}
		if tb.Failed() {
			data, _ := os.ReadFile(logs.Name())
			tb.Logf("%s logs:\n%s", args[0], data)
		}
		logs.Close()
	})
	tb.Cleanup(stop)
	waitUntil(tb, time.Minute, what, func() bool {
		select {
		case err := <-exited:
			exited <- err
			tb.Fatalf("%s exited early: %v", args[0], err)
		default:
		}
		return ready()
	})
	return cmd, stop
}

func killedBySIGKILL(cmd *exec.Cmd) bool {
	status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == syscall.SIGKILL
}

// snapshotPolicies copies the policy bundle of dir (its *.rego and
// data.json) to a directory of the benchmark's own, so that an edit of the
// source tree during a run does not reload the policy under measurement.
func snapshotPolicies(tb testing.TB, dir string) string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	snapshot := tb.TempDir()
	for _, e := range entries {
		if e.IsDir() || (filepath.Ext(e.Name()) != ".rego" && e.Name() != "data.json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(snapshot, e.Name()), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return snapshot
}

// measureProcess reports the CPU process pid uses over the stretch, in
// percent of one core, and its peak resident set, sampled every second.
func measureProcess(tb testing.TB, pid int, stretch time.Duration) (cpuPercent, peakRSSMiB float64) {
	tb.Helper()
	startTicks := readCPUTicks(tb, pid)
	start := time.Now()
	for time.Since(start) < stretch {
		time.Sleep(time.Second)
		peakRSSMiB = max(peakRSSMiB, float64(readRSSBytes(tb, pid))/(1<<20))
	}
	elapsed := time.Since(start)
	used := float64(readCPUTicks(tb, pid)-startTicks) / userHZ
	return 100 * used / elapsed.Seconds(), peakRSSMiB
}

func readCPUTicks(tb testing.TB, pid int) uint64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	ticks, err := parseCPUTicks(string(data))
	if err != nil {
		tb.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	return ticks
}

func readRSSBytes(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	rss, err := parseVmRSS(string(data))
	if err != nil {
		tb.Fatalf("/proc/%d/status: %v", pid, err)
	}
	return rss
}

// parseCPUTicks returns utime + stime from the text of /proc/<pid>/stat.
// The command name, in parentheses, may hold spaces, so the fields are
// counted from the last ')'.
func parseCPUTicks(stat string) (uint64, error) {
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	fields := strings.Fields(stat[end+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	var total uint64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("utime/stime %q: %w", f, err)
		}
		total += v
	}
	return total, nil
}

// parseVmRSS returns the VmRSS line of /proc/<pid>/status in bytes.
func parseVmRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		value, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		kib, err := strconv.ParseInt(value, 10, 64)
		if err != nil || strings.TrimSpace(unit) != "kB" {
			return 0, fmt.Errorf("VmRSS %q: want a number of kB", strings.TrimSpace(rest))
		}
		return kib << 10, nil
	}
	return 0, errors.New("no VmRSS line")
}

func TestParseProcFiles(t *testing.T) {
	stat := "4242 (sluice agent) S 1 4242 4242 0 -1 4194560 2000 0 0 0 1234 567 0 0 20 0 12 0 100 800000000 5000"
	if ticks, err := parseCPUTicks(stat); err != nil || ticks != 1234+567 {
		t.Errorf("parseCPUTicks = %d, %v; want 1801", ticks, err)
	}
	if _, err := parseCPUTicks("4242 (short) S 1"); err == nil {
		t.Error("parseCPUTicks accepted a truncated line")
	}
	status := "Name:\tsluice\nVmPeak:\t  900000 kB\nVmRSS:\t   24576 kB\nThreads:\t12\n"
	if rss, err := parseVmRSS(status); err != nil || rss != 24576<<10 {
		t.Errorf("parseVmRSS = %d, %v; want %d", rss, err, 24576<<10)
	}
	if _, err := parseVmRSS("Name:\tsluice\n"); err == nil {
		t.Error("parseVmRSS accepted a status without VmRSS")
	}
}

// The loop latency is measured in-process, where the agent's hooks see
// the observation handed to the store and the actuator's write done.
const (
	loopInterval = 250 * time.Millisecond
	loopWarmUp   = 10 * time.Second
	loopStretch  = 60 * time.Second
)

// BenchmarkLoopLatency runs the headline case on the real node (a sine
// victim and a CPU hog of equal weight on CPU 0 under the shield policy) and times every
// decision that changes the hog's quota: from the moment the observation
// it was made on is handed to etcd until the cgroup write is done. It
// reports p50, p99 and the maximum over a 60 s stretch at a 250 ms
// interval, and the p99 of the two halves of the loop: observation to
// decision (the policy step, as a watcher of the decision key sees it) and
// decision to write (the reconciler). Target: p99 ≤ 50 ms. One
// measurement, whatever b.N.
func BenchmarkLoopLatency(b *testing.B) {
	n := newDockerNode(b)
	timer := newLoopTimer(n.name)
	n.startAgent(func(ao *agentOptions) {
		ao.policyDir = snapshotPolicies(b, "../../policies")
		ao.interval = loopInterval
		ao.hooks = agent.Hooks{ObservationWriting: timer.observationWriting, ActionDone: timer.actionDone}
	})
	watchDecisions(b, n, timer.decisionSeen)
	// A hog whose spec sets a weight keeps it, so the policy shields with
	// the quota alone and changes it tick by tick: the loop under test. At
	// the lowest weight it would seldom need to.
	hog := shieldSpec("hog", "cpuhog", state.BestEffort)
	equalWeight := uint64(1024)
	hog.Containers[0].Resources.CPUShares = &equalWeight
	n.apply(shieldSpec("victim", "sineload", state.LatencyCritical), hog)
	n.waitPhase("victim", state.Ready)
	n.waitPhase("hog", state.Ready)
	time.Sleep(loopWarmUp)
	timer.start()
	time.Sleep(loopStretch)
	loops := timer.stop()
	if len(loops) < 20 {
		b.Fatalf("only %d quota changes in %v; the policy did not act on the node", len(loops), loopStretch)
	}
	total, decide, act := loops.split()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(len(loops)), "decisions")
	b.ReportMetric(quantileMs(total, 0.50), "p50-ms")
	b.ReportMetric(quantileMs(total, 0.99), "p99-ms")
	b.ReportMetric(quantileMs(total, 1), "max-ms")
	b.ReportMetric(quantileMs(decide, 0.99), "decide-p99-ms")
	b.ReportMetric(quantileMs(act, 0.99), "act-p99-ms")
}

// watchDecisions calls seen with each of the node's decisions as it
// arrives, from a client of its own, until the benchmark ends.
func watchDecisions(tb testing.TB, n *dockerNode, seen func(state.Decision, time.Time)) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := (&globalOptions{endpoints: []string{n.endpoint}}).openStore(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for resp := range store.Watch(ctx, state.Keys.Decision(n.name), 0) {
			at := time.Now()
			for _, ev := range resp.Events {
				var decision state.Decision
				if json.Unmarshal(ev.Value, &decision) == nil {
					seen(decision, at)
				}
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
}

// loopTimer pairs each quota write with the observation its decision was
// made on: a decision carries its observation's time and the revision of
// the view it read, which key the records below.
type loopTimer struct {
	node string

	mu        sync.Mutex
	recording bool
	written   map[int64]time.Time // observation time (ns) → handed to the store
	decided   map[int64]time.Time // decision revision → seen by the watcher
	loops     map[int64]loop      // decision revision → its loop
}

// loop is one decision's way round: observation handed to the store,
// decision seen, last CPU write done.
type loop struct {
	written, decided, done time.Time
}

type loops []loop

func newLoopTimer(node string) *loopTimer {
	return &loopTimer{node: node, written: map[int64]time.Time{}, decided: map[int64]time.Time{}, loops: map[int64]loop{}}
}

func (l *loopTimer) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recording = true
}

func (l *loopTimer) observationWriting(obs state.Observation) {
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recording {
		l.written[obs.Time.UnixNano()] = at
	}
}

func (l *loopTimer) decisionSeen(decision state.Decision, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.decided[decision.Revision] = at
}

// actionDone counts a CPU write made while a decision is in force: a cap,
// a new cap or its release. Writes before the recording (the containers'
// initial settings) are not the loop's and find no observation.
func (l *loopTimer) actionDone(action reconciler.Action, view *state.View) {
	at := time.Now()
	decision, ok := view.Decisions[l.node]
	if action.Kind != reconciler.ActionSetCPU || !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	written, seen := l.written[decision.Time.UnixNano()]
	if !seen {
		return
	}
	l.loops[decision.Revision] = loop{written: written, decided: l.decided[decision.Revision], done: at}
}

// stop ends the recording and returns one loop per decision acted on.
func (l *loopTimer) stop() loops {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recording = false
	out := make(loops, 0, len(l.loops))
	for _, revision := range slices.Sorted(maps.Keys(l.loops)) {
		out = append(out, l.loops[revision])
	}
	return out
}

// split returns the loops' whole durations and their two halves, each
// sorted. A decision the watcher missed counts in the whole only.
func (ls loops) split() (total, decide, act []time.Duration) {
	for _, lp := range ls {
		total = append(total, lp.done.Sub(lp.written))
		if !lp.decided.IsZero() {
			decide = append(decide, lp.decided.Sub(lp.written))
			act = append(act, lp.done.Sub(lp.decided))
		}
	}
	slices.Sort(total)
	slices.Sort(decide)
	slices.Sort(act)
	return total, decide, act
}

// quantileMs is the nearest-rank quantile q of sorted, in milliseconds; 0
// for no values.
func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	rank = min(max(rank, 0), len(sorted)-1)
	return float64(sorted[rank]) / float64(time.Millisecond)
}

// TestLoopTimerPairsWritesWithTheirObservation feeds the hooks by hand:
// a quota write counts from the observation its decision names, once per
// decision, and only while recording.
func TestLoopTimerPairsWritesWithTheirObservation(t *testing.T) {
	timer := newLoopTimer("n1")
	observedAt := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	setHog := reconciler.Action{Kind: reconciler.ActionSetCPU, ContainerID: "hog/cpuhog"}
	view := state.NewView("n1")
	view.Decisions["n1"] = state.Decision{Node: "n1", Revision: 7, Time: observedAt}

	timer.observationWriting(state.Observation{Node: "n1", Time: observedAt})
	timer.actionDone(setHog, &view)
	if got := timer.stop(); len(got) != 0 {
		t.Fatalf("loops before the recording started: %v", got)
	}

	timer.start()
	timer.observationWriting(state.Observation{Node: "n1", Time: observedAt})
	time.Sleep(2 * time.Millisecond)
	timer.decisionSeen(view.Decisions["n1"], time.Now())
	time.Sleep(2 * time.Millisecond)
	timer.actionDone(reconciler.Action{Kind: reconciler.ActionCreate, ContainerID: "hog/cpuhog"}, &view)
	timer.actionDone(setHog, &view)
	other := state.NewView("n1")
	other.Decisions["n1"] = state.Decision{Node: "n1", Revision: 8, Time: observedAt.Add(time.Second)}
	timer.actionDone(setHog, &other) // its observation was never seen written
	loops := timer.stop()
	if len(loops) != 1 {
		t.Fatalf("%d loops, want the one of decision 7", len(loops))
	}
	total, decide, act := loops.split()
	if total[0] < 4*time.Millisecond || decide[0] < 2*time.Millisecond || act[0] < 2*time.Millisecond || decide[0]+act[0] != total[0] {
		t.Errorf("loop total %v = decide %v + act %v; want at least 4 = 2 + 2 ms", total[0], decide[0], act[0])
	}
}

func TestQuantileMs(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]float64{0.5: 50, 0.99: 99, 1: 100, 0: 1} {
		if got := quantileMs(sorted, q); got != want {
			t.Errorf("quantile %g of 1..100 ms = %g, want %g", q, got, want)
		}
	}
	if got := quantileMs(nil, 0.99); got != 0 {
		t.Errorf("quantile of nothing = %g, want 0", got)
	}
}
