package sensors

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func near(got, want float64) bool { return math.Abs(got-want) < 1e-9 }

var victim = state.Container{ID: "web/victim", App: "web", Name: "victim", GUID: "sineload-x1", RuntimeID: "abc", Running: true}

// v1Tree is a container in separate cpu, cpuacct, cpuset and memory
// hierarchies, as on this project's reference node.
func v1Tree(usage, throttled, wait1, wait2 uint64, tasks string, rx, tx uint64) map[string]string {
	return map[string]string{
		"proc/4242/cgroup":                           "4:memory:/docker/abc\n3:cpuset:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n",
		"proc/4242/schedstat":                        "1 " + itoa(wait1) + " 3\n",
		"proc/4243/schedstat":                        "1 " + itoa(wait2) + " 3\n",
		"proc/4242/net/dev":                          netDevWith(rx, tx),
		"cg/cpu/docker/abc/cpu.stat":                 "nr_periods 10\nnr_throttled 2\nthrottled_time " + itoa(throttled) + "\n",
		"cg/cpu/docker/abc/cpu.cfs_quota_us":         "50000\n",
		"cg/cpu/docker/abc/cpu.cfs_period_us":        "100000\n",
		"cg/cpu/docker/abc/cpu.shares":               "512\n",
		"cg/cpu/docker/abc/tasks":                    tasks,
		"cg/cpuacct/docker/abc/cpuacct.usage":        itoa(usage) + "\n",
		"cg/cpuset/docker/abc/cpuset.cpus":           "0\n",
		"cg/memory/docker/abc/memory.usage_in_bytes": "104857600\n",
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func TestContainerCollectorV1(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, v1Tree(1e9, 0, 100, 0, "4242\n", 1000, 500))
	cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")},
		pidsByID{victim.ID: 4242}, discardLogger())
	defer cc.Close()
	ctx := context.Background()

	first, err := cc.Collect(ctx, t0, []state.Container{victim})
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || first[0].CPUUsageCores != 0 || first[0].MemoryBytes != 104857600 || first[0].CPUSet != "0" {
		t.Fatalf("first tick = %+v; want one container, no rates, memory and cpuset read", first)
	}

	// Two seconds later: 1.5 s of CPU (0.75 cores), 0.2 s throttled, thread
	// 4242 waited 0.5 s more and a new thread 4243 waited 0.3 s.
	writeTree(t, root, v1Tree(2.5e9, 2e8, 100+5e8, 3e8, "4242\n4243\n", 3000, 1500))
	second, err := cc.Collect(ctx, t0.Add(2*time.Second), []state.Container{victim})
	if err != nil {
		t.Fatal(err)
	}
	got := second[0]
	if !near(got.CPUUsageCores, 0.75) || !near(got.ThrottledSeconds, 0.2) || !near(got.RunQueueWaitCores, 0.4) {
		t.Errorf("rates = usage %g throttled %g wait %g; want 0.75, 0.2, 0.4", got.CPUUsageCores, got.ThrottledSeconds, got.RunQueueWaitCores)
	}
	if got.CPUQuotaCores == nil || *got.CPUQuotaCores != 0.5 || got.CPUShares != 512 {
		t.Errorf("limits = quota %v shares %d; want 0.5, 512", got.CPUQuotaCores, got.CPUShares)
	}
	if got.NetRxBytes != 2000 || got.NetTxBytes != 1000 {
		t.Errorf("network = rx %d tx %d; want 2000, 1000", got.NetRxBytes, got.NetTxBytes)
	}
	if got.ID != victim.ID || got.App != "web" || got.Name != "victim" || got.GUID != "sineload-x1" {
		t.Errorf("identity = %+v; want the runtime's metadata", got)
	}
	if n := cc.OpenFiles(); n != 10 {
		t.Errorf("open files = %d; want 8 kept cgroup and proc files (tasks is reopened) and 2 thread schedstats", n)
	}

	// The container leaves the runtime's list: its files are closed.
	if obs, err := cc.Collect(ctx, t0.Add(3*time.Second), nil); err != nil || len(obs) != 0 || cc.OpenFiles() != 0 {
		t.Errorf("after removal: %d observations, err %v, %d files open; want none", len(obs), err, cc.OpenFiles())
	}
}

// A container that did not run between two ticks has its threads left
// unread; the wait they report when it runs again is counted then, in
// full, as is a thread born meanwhile.
func TestContainerCollectorSkipsThreadsOfContainersThatDidNotRun(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, v1Tree(1e9, 0, 100, 0, "4242\n", 0, 0))
	cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")},
		pidsByID{victim.ID: 4242}, discardLogger())
	defer cc.Close()
	ctx := context.Background()
	collect := func(second int) state.ContainerObservation {
		t.Helper()
		obs, err := cc.Collect(ctx, t0.Add(secondsDuration(second)), []state.Container{victim})
		if err != nil || len(obs) != 1 {
			t.Fatalf("tick %d: %+v, %v; want one observation", second, obs, err)
		}
		return obs[0]
	}
	collect(0)
	// The usage did not move, yet the thread files say otherwise (as a
	// wait that ended after the usage was read would): they are not read,
	// so neither the wait nor the new thread's file is taken yet.
	writeTree(t, root, v1Tree(1e9, 0, 100+2e8, 1e8, "4242\n4243\n", 0, 0))
	if got := collect(1); got.RunQueueWaitCores != 0 || cc.OpenFiles() != 9 {
		t.Fatalf("idle tick: wait %g, %d files open; want 0 and no new thread file", got.RunQueueWaitCores, cc.OpenFiles())
	}
	// It runs: both waits are counted at this reading, over its interval.
	writeTree(t, root, v1Tree(1.5e9, 0, 100+2e8, 1e8, "4242\n4243\n", 0, 0))
	if got := collect(2); !near(got.CPUUsageCores, 0.5) || !near(got.RunQueueWaitCores, 0.3) {
		t.Errorf("running tick: usage %g wait %g; want 0.5 and 0.3", got.CPUUsageCores, got.RunQueueWaitCores)
	}
}

func TestContainerCollectorRestartAndVanish(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, v1Tree(5e9, 0, 0, 0, "4242\n", 0, 0))
	locator := pidsByID{victim.ID: 4242}
	cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")}, locator, discardLogger())
	defer cc.Close()
	ctx := context.Background()
	if _, err := cc.Collect(ctx, t0, []state.Container{victim}); err != nil {
		t.Fatal(err)
	}
	// Recreated under the same ID: a new runtime ID, counters from zero.
	restarted := victim
	restarted.RuntimeID = "def"
	writeTree(t, root, v1Tree(1e9, 0, 0, 0, "4242\n", 0, 0))
	obs, err := cc.Collect(ctx, t0.Add(time.Second), []state.Container{restarted})
	if err != nil || len(obs) != 1 || obs[0].CPUUsageCores != 0 {
		t.Fatalf("restarted container = %+v, %v; want a fresh baseline", obs, err)
	}
	// Its cgroup goes away (a kept cgroupfs file then fails to read; an
	// emptied file fails the same way here) and its process cannot be
	// found: it is left out with an error naming it, and the next
	// container is still read.
	other := state.Container{ID: "batch/hog", App: "batch", Name: "hog", RuntimeID: "h", Running: true}
	writeTree(t, root, map[string]string{"cg/cpuacct/docker/abc/cpuacct.usage": ""})
	delete(locator, victim.ID)
	obs, err = cc.Collect(ctx, t0.Add(2*time.Second), []state.Container{restarted, other, {ID: "x/stopped"}})
	if err == nil || !strings.Contains(err.Error(), "web/victim") || !strings.Contains(err.Error(), "batch/hog") {
		t.Errorf("err = %v; want failures naming web/victim and batch/hog", err)
	}
	if len(obs) != 0 || cc.OpenFiles() != 0 {
		t.Errorf("%d observations and %d files open; want none", len(obs), cc.OpenFiles())
	}
}

func TestContainerCollectorMalformedProcCgroup(t *testing.T) {
	root := t.TempDir()
	tree := v1Tree(1e9, 0, 0, 0, "4242\n", 0, 0)
	tree["proc/4242/cgroup"] = "garbage\n"
	writeTree(t, root, tree)
	cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")},
		pidsByID{victim.ID: 4242}, discardLogger())
	defer cc.Close()
	obs, err := cc.Collect(context.Background(), t0, []state.Container{victim})
	if cgroupFile := filepath.Join(root, "proc", "4242", "cgroup"); err == nil || !strings.Contains(err.Error(), cgroupFile) || len(obs) != 0 {
		t.Errorf("malformed %s: %d observations, err %v; want none and an error naming the file", cgroupFile, len(obs), err)
	}
}

func v2Tree(usageUsec, throttledUsec, pressure uint64, withSchedstat bool) map[string]string {
	dir := "cg/system.slice/docker-def.scope/"
	files := map[string]string{
		"cg/cgroup.controllers":       "cpuset cpu io memory pids\n",
		"proc/77/cgroup":              "0::/system.slice/docker-def.scope\n",
		"proc/77/net/dev":             netDevWith(10, 20),
		dir + "cpu.stat":              "usage_usec " + itoa(usageUsec) + "\nuser_usec 1\nsystem_usec 1\nnr_periods 5\nnr_throttled 1\nthrottled_usec " + itoa(throttledUsec) + "\n",
		dir + "cpu.max":               "max 100000\n",
		dir + "cpu.weight":            "39\n",
		dir + "cpuset.cpus.effective": "0-1\n",
		dir + "memory.current":        "2048\n",
		dir + "cgroup.threads":        "77\n",
		dir + "cpu.pressure":          "some avg10=0.00 avg60=0.00 avg300=0.00 total=" + itoa(pressure) + "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
	}
	if withSchedstat {
		files["proc/77/schedstat"] = "1 " + itoa(pressure*2000) + " 1\n"
	}
	return files
}

func TestContainerCollectorV2(t *testing.T) {
	for _, tc := range []struct {
		name          string
		withSchedstat bool
		wantWait      float64
	}{
		// Schedstat counts the thread's wait (2× the PSI figure in this tree).
		{"schedstat", true, 1.0},
		// Without schedstat, PSI "some" stands in: 0.5 s stalled per second.
		{"pressure", false, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, v2Tree(1_000_000, 0, 1_000_000, tc.withSchedstat))
			cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg")},
				pidsByID{victim.ID: 77}, discardLogger())
			defer cc.Close()
			ctx := context.Background()
			if _, err := cc.Collect(ctx, t0, []state.Container{victim}); err != nil {
				t.Fatal(err)
			}
			writeTree(t, root, v2Tree(1_500_000, 100_000, 1_500_000, tc.withSchedstat))
			obs, err := cc.Collect(ctx, t0.Add(time.Second), []state.Container{victim})
			if err != nil {
				t.Fatal(err)
			}
			got := obs[0]
			if !near(got.CPUUsageCores, 0.5) || !near(got.ThrottledSeconds, 0.1) || !near(got.RunQueueWaitCores, tc.wantWait) {
				t.Errorf("rates = usage %g throttled %g wait %g; want 0.5, 0.1, %g", got.CPUUsageCores, got.ThrottledSeconds, got.RunQueueWaitCores, tc.wantWait)
			}
			if got.CPUQuotaCores != nil || got.CPUShares != 999 || got.CPUSet != "0-1" || got.MemoryBytes != 2048 {
				t.Errorf("settings = quota %v shares %d cpuset %q memory %d; want unlimited, 999 (weight 39), 0-1, 2048", got.CPUQuotaCores, got.CPUShares, got.CPUSet, got.MemoryBytes)
			}
		})
	}
}
