package cgroup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// spinEnv makes the test binary, re-executed as a child, burn CPU until
// killed: the stand-in for a container's busy process.
const spinEnv = "SLUICE_CGROUP_TEST_SPIN"

func TestMain(m *testing.M) {
	if os.Getenv(spinEnv) == "1" {
		for {
		}
	}
	os.Exit(m.Run())
}

// testGroup is a cgroup a test created for itself, in the hierarchies the
// CPU settings live in.
type testGroup struct {
	root, path string
	version    cgroupfs.Version
	dirs       []string
}

// controllers the real test needs, in the order the child joins them.
func (g *testGroup) controllers() []string {
	if g.version == cgroupfs.V2 {
		return []string{""}
	}
	return []string{"cpu", "cpuacct", "cpuset"}
}

func newTestGroup(t *testing.T, v cgroupfs.Version) *testGroup {
	t.Helper()
	g := &testGroup{root: cgroupfs.DefaultRoot, path: fmt.Sprintf("/sluice-test-%d-%d", os.Getpid(), time.Now().UnixNano()), version: v}
	if v == cgroupfs.V2 {
		enableV2Controllers(t, g.root)
	}
	for _, controller := range g.controllers() {
		dir := filepath.Join(g.root, controller, g.path)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("create test cgroup: %v", err)
		}
		g.dirs = append(g.dirs, dir)
		if controller == "cpuset" {
			// A v1 cpuset group takes no task until it has CPUs and
			// memory nodes; give it its parent's.
			for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
				copyFile(t, filepath.Join(g.root, controller, file), filepath.Join(dir, file))
			}
		}
	}
	t.Cleanup(g.remove)
	return g
}

// enableV2Controllers makes cpu and cpuset available to the root's
// children, as systemd does on a v2 host.
func enableV2Controllers(t *testing.T, root string) {
	t.Helper()
	enabled, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		t.Fatal(err)
	}
	for _, controller := range []string{"cpu", "cpuset"} {
		if strings.Contains(string(enabled), controller) {
			continue
		}
		if err := writeFile(filepath.Join(root, "cgroup.subtree_control"), "+"+controller); err != nil {
			t.Fatalf("enable %s for v2 children: %v", controller, err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(to, strings.TrimSpace(string(data))); err != nil {
		t.Fatalf("copy %s to %s: %v", from, to, err)
	}
}

func (g *testGroup) join(t *testing.T, pid int) {
	t.Helper()
	for _, dir := range g.dirs {
		if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			t.Fatalf("move process %d into %s: %v", pid, dir, err)
		}
	}
}

// remove deletes the group's directories; the kernel refuses while a
// process is still being torn down, so it retries briefly.
func (g *testGroup) remove() {
	for _, dir := range g.dirs {
		for attempt := 0; attempt < 50; attempt++ {
			if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// startSpinner starts a busy child process; it is killed when the test ends.
func startSpinner(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), spinEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func TestRealCgroupQuotaThrottles(t *testing.T) {
	testenv.RequireCgroups(t)
	ctx := context.Background()
	version, err := cgroupfs.DetectVersion()
	if err != nil {
		testenv.Unavailable(t, err.Error())
	}
	group := newTestGroup(t, version)
	pid := startSpinner(t)
	group.join(t, pid)

	spinner := state.Container{ID: "test/spinner", App: "test", Name: "spinner", RuntimeID: "not-a-docker-id", Running: true}
	c, err := New(Config{PIDs: fakePIDs{spinner.ID: pid}})
	if err != nil {
		t.Fatal(err)
	}
	located, err := c.Locate(ctx, spinner)
	if err != nil {
		t.Fatal(err)
	}
	if located.String() != group.path {
		t.Fatalf("Locate found %s, want the test group %s", located, group.path)
	}

	want := state.CPUResources{QuotaCores: cores(0.2), Shares: shares(512), CPUSet: "0"}
	if err := c.SetCPU(ctx, spinner, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.CPU(ctx, spinner)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 0.2 || *got.Shares != 512 || got.CPUSet != "0" {
		t.Errorf("CPU read back quota %v shares %v cpuset %q, want 0.2, 512, 0", got.QuotaCores, *got.Shares, got.CPUSet)
	}
	if allowed := cpusAllowed(t, pid); allowed != "0" {
		t.Errorf("process %d may run on CPUs %q, want 0", pid, allowed)
	}

	assertQuotaBites(t, located, 0.2)

	if err := c.SetCPU(ctx, spinner, state.CPUResources{}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.CPU(ctx, spinner); err != nil || got.QuotaCores != nil {
		t.Errorf("after removing the quota CPU = %+v, %v; want no quota", got, err)
	}
}

// measure returns the cores group g used over window and how many periods
// were throttled meanwhile.
func measure(t *testing.T, g cgroupfs.Group, window time.Duration) (cores float64, throttled uint64) {
	t.Helper()
	before := cpuStat(t, g)
	start := time.Now()
	time.Sleep(window)
	after := cpuStat(t, g)
	elapsed := time.Since(start)
	return float64(after.UsageNanos-before.UsageNanos) / float64(elapsed.Nanoseconds()),
		after.ThrottledPeriods - before.ThrottledPeriods
}

// cpuStat reads the CPU counters of g from its files, as the sensors do.
func cpuStat(t *testing.T, g cgroupfs.Group) cgroupfs.CPUStat {
	t.Helper()
	read := func(controller, name string) string {
		dir, err := g.Dir(cgroupfs.DefaultRoot, controller)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	stat, err := cgroupfs.ParseCPUStat(g.Version, read("cpu", "cpu.stat"))
	if err == nil && g.Version == cgroupfs.V1 {
		stat.UsageNanos, err = cgroupfs.ParseUint(read("cpuacct", "cpuacct.usage"))
	}
	if err != nil {
		t.Fatalf("cpu counters of %s: %v", g, err)
	}
	return stat
}

func cpusAllowed(t *testing.T, pid int) string {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(value)
		}
	}
	t.Fatalf("no Cpus_allowed_list in /proc/%d/status", pid)
	return ""
}

// assertQuotaBites watches busy group g in one-second windows. The quota
// is an upper bound: no window may exceed it (with slack for accounting),
// and the group must be throttled. Other load on the CPU (tests of other
// packages run at the same time) can keep the group below its quota for a
// while, which proves nothing either way, so it waits up to ten windows
// for a few throttled periods instead of asserting a lower bound.
func assertQuotaBites(t *testing.T, g cgroupfs.Group, quota float64) {
	t.Helper()
	const wantThrottled, windows = 3, 10
	var throttled uint64
	for i := 0; i < windows && throttled < wantThrottled; i++ {
		usage, periods := measure(t, g, time.Second)
		t.Logf("quota %.2f cores: used %.3f cores, %d periods throttled", quota, usage, periods)
		if usage > quota*1.25+0.02 {
			t.Errorf("used %.3f cores under a %.2f-core quota", usage, quota)
		}
		throttled += periods
	}
	if throttled < wantThrottled {
		t.Errorf("%d periods throttled in %d s under a %.2f-core quota: it does not bite", throttled, windows, quota)
	}
}
