package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// writeTree creates files (path relative to root → content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, root, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// v1Fixture lays out a v1 group at path in the cpu and cpuset
// hierarchies, with the values a fresh Docker container has.
func v1Fixture(t *testing.T, root, path string) {
	writeTree(t, root, map[string]string{
		"cpu" + path + "/cpu.cfs_quota_us":  "-1\n",
		"cpu" + path + "/cpu.cfs_period_us": "100000\n",
		"cpu" + path + "/cpu.shares":        "1024\n",
		"cpuset" + path + "/cpuset.cpus":    "0-1\n",
	})
}

// v2Fixture lays out a v2 group at path.
func v2Fixture(t *testing.T, root, path string) {
	writeTree(t, root, map[string]string{
		path + "/cpu.max":     "max 100000\n",
		path + "/cpu.weight":  "100\n",
		path + "/cpuset.cpus": "\n",
	})
}

const runtimeID = "4f1c9a2b7d3e"

var fixtureContainer = state.Container{ID: "shop/web", App: "shop", Name: "web", RuntimeID: runtimeID, Running: true}

func newFixtureController(t *testing.T, root string, v cgroupfs.Version, pids PIDs, procRoot string) *Controller {
	t.Helper()
	c, err := New(Config{Root: root, Version: v, PIDs: pids, ProcRoot: procRoot})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControllerV1CgroupfsDriver(t *testing.T) {
	root := t.TempDir()
	v1Fixture(t, root, "/docker/"+runtimeID)
	c := newFixtureController(t, root, cgroupfs.V1, nil, "")
	ctx := context.Background()

	err := c.SetCPU(ctx, fixtureContainer, state.CPUResources{QuotaCores: cores(0.2), Shares: shares(512), CPUSet: "1"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"cpu/docker/" + runtimeID + "/cpu.cfs_quota_us":  "20000",
		"cpu/docker/" + runtimeID + "/cpu.cfs_period_us": "100000",
		"cpu/docker/" + runtimeID + "/cpu.shares":        "512",
		"cpuset/docker/" + runtimeID + "/cpuset.cpus":    "1",
	} {
		// The kernel shows a newline after each value; a file that already
		// held its value keeps the fixture's.
		if got := strings.TrimSpace(readTree(t, root, path)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	got, err := c.CPU(ctx, fixtureContainer)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 0.2 || *got.Shares != 512 || got.CPUSet != "1" {
		t.Errorf("CPU read back quota %v shares %v cpuset %q, want 0.2, 512, 1", got.QuotaCores, *got.Shares, got.CPUSet)
	}

	if err := c.SetCPU(ctx, fixtureContainer, state.CPUResources{}); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, root, "cpu/docker/"+runtimeID+"/cpu.cfs_quota_us"); got != "-1" {
		t.Errorf("after removing the quota cpu.cfs_quota_us = %q, want -1", got)
	}
	if got := readTree(t, root, "cpu/docker/"+runtimeID+"/cpu.shares"); got != "512" {
		t.Errorf("nil shares changed cpu.shares to %q, want it left at 512", got)
	}
}

func TestControllerV2SystemdDriver(t *testing.T) {
	root := t.TempDir()
	scope := "/system.slice/docker-" + runtimeID + ".scope"
	v2Fixture(t, root, scope)
	c := newFixtureController(t, root, cgroupfs.V2, nil, "")
	ctx := context.Background()

	if err := c.SetCPU(ctx, fixtureContainer, state.CPUResources{QuotaCores: cores(0.5), Shares: shares(1024), CPUSet: "0"}); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"cpu.max": "50000 100000", "cpu.weight": "39", "cpuset.cpus": "0"} {
		if got := readTree(t, root, scope+"/"+file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	got, err := c.CPU(ctx, fixtureContainer)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 0.5 || *got.Shares != 1024 || got.CPUSet != "0" {
		t.Errorf("CPU read back quota %v shares %v cpuset %q, want 0.5, 1024, 0", got.QuotaCores, *got.Shares, got.CPUSet)
	}
	// Another controller did not write those shares, so it sees the
	// weight's own shares equivalent.
	fresh := newFixtureController(t, root, cgroupfs.V2, nil, "")
	if got, err := fresh.CPU(ctx, fixtureContainer); err != nil || *got.Shares != cgroupfs.SharesFromWeight(39) {
		t.Errorf("fresh controller read shares %v (err %v), want %d", got.Shares, err, cgroupfs.SharesFromWeight(39))
	}
}

type fakePIDs map[string]int

func (f fakePIDs) PID(_ context.Context, c state.Container) (int, error) {
	if pid, ok := f[c.ID]; ok {
		return pid, nil
	}
	return 0, errors.New("no such container")
}

func TestControllerFindsGroupThroughProcess(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	// A custom cgroup parent that no driver convention predicts, and a
	// cpuset hierarchy where the process sits elsewhere.
	v1Fixture(t, root, "/sluice/web")
	writeTree(t, root, map[string]string{"cpuset/other/web/cpuset.cpus": "3\n"})
	writeTree(t, proc, map[string]string{"4242/cgroup": "12:name=systemd:/sluice/web\n" +
		"5:cpuset:/other/web\n3:cpu,cpuacct:/sluice/web\n0::/\n"})
	c := newFixtureController(t, root, cgroupfs.V1, fakePIDs{"shop/web": 4242}, proc)

	if err := c.SetCPU(context.Background(), fixtureContainer, state.CPUResources{QuotaCores: cores(1)}); err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, root, "cpu/sluice/web/cpu.cfs_quota_us"); got != "100000" {
		t.Errorf("cpu.cfs_quota_us = %q, want 100000", got)
	}
	got, err := c.CPU(context.Background(), fixtureContainer)
	if err != nil || got.QuotaCores == nil || *got.QuotaCores != 1 || got.CPUSet != "3" {
		t.Errorf("CPU = %+v, %v; want the quota of /sluice/web and the cpuset 3 of /other/web", got, err)
	}
}

func TestControllerFallsBackToDriverPaths(t *testing.T) {
	root := t.TempDir()
	v2Fixture(t, root, "/docker/"+runtimeID)
	// The PID lookup knows nothing about this container.
	c := newFixtureController(t, root, cgroupfs.V2, fakePIDs{}, t.TempDir())
	got, err := c.CPU(context.Background(), fixtureContainer)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores != nil || got.Shares == nil || *got.Shares != cgroupfs.SharesFromWeight(100) || got.CPUSet != "" {
		t.Errorf("CPU of a fresh container = %+v, want no quota, the shares of weight 100 and no cpuset", got)
	}
}

func TestControllerRefusesTheRootGroup(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	writeTree(t, root, map[string]string{"cpu.max": "max 100000\n", "cpu.weight": "100\n"})
	writeTree(t, proc, map[string]string{"77/cgroup": "0::/\n"})
	c := newFixtureController(t, root, cgroupfs.V2, fakePIDs{"shop/web": 77}, proc)
	err := c.SetCPU(context.Background(), fixtureContainer, state.CPUResources{QuotaCores: cores(0.1)})
	if err == nil {
		t.Fatal("SetCPU acted on a process in the root cgroup")
	}
	if got := readTree(t, root, "cpu.max"); got != "max 100000\n" {
		t.Errorf("root cpu.max changed to %q", got)
	}
	t.Log(err)
}

func TestApplyNamesTheFileThatFailed(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"docker/x/cpu.max": "max 100000\n"})
	g := cgroupfs.Group{Version: cgroupfs.V2, Unified: "/docker/x"}
	err := FS{Root: root}.Apply(g, []Write{{File{"cpu", "cpu.max"}, "1000 100000"}, {File{"cpu", "cpu.weight"}, "10"}})
	if err == nil {
		t.Fatal("Apply wrote cpu.weight, which the fixture does not have")
	}
	for _, want := range []string{"cpu.weight", "/docker/x", "cgroup v2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewNeedsVersionForACustomRoot(t *testing.T) {
	if _, err := New(Config{Root: t.TempDir()}); err == nil {
		t.Error("New detected a version for a fixture root")
	}
}

// A write to an unchanged CFS period would refill the group's quota, so
// Apply must leave a file that already holds its value untouched.
func TestApplyLeavesUnchangedFilesAlone(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"cpu/docker/x/cpu.cfs_period_us": "100000\n",
		"cpu/docker/x/cpu.cfs_quota_us":  "-1\n",
	})
	g := cgroupfs.Group{Version: cgroupfs.V1, Paths: map[string]string{"cpu": "/docker/x"}}
	long := time.Unix(1_000_000, 0)
	for _, name := range []string{"cpu.cfs_period_us", "cpu.cfs_quota_us"} {
		if err := os.Chtimes(filepath.Join(root, "cpu/docker/x", name), long, long); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := PlanCPU(cgroupfs.V1, state.CPUResources{QuotaCores: cores(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	if err := (FS{Root: root}).Apply(g, plan); err != nil {
		t.Fatal(err)
	}
	modified := func(name string) bool {
		info, err := os.Stat(filepath.Join(root, "cpu/docker/x", name))
		if err != nil {
			t.Fatal(err)
		}
		return !info.ModTime().Equal(long)
	}
	if modified("cpu.cfs_period_us") {
		t.Error("Apply rewrote cpu.cfs_period_us, which already held 100000")
	}
	if !modified("cpu.cfs_quota_us") || readTree(t, root, "cpu/docker/x/cpu.cfs_quota_us") != "50000" {
		t.Errorf("cpu.cfs_quota_us = %q, want 50000 written", readTree(t, root, "cpu/docker/x/cpu.cfs_quota_us"))
	}
}
