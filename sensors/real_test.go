package sensors

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

// testCgroup is a cgroup made for one test, in every hierarchy the
// container collector reads.
type testCgroup struct {
	version cgroupfs.Version
	dirs    []string
}

// newTestCgroup creates the cgroup pinned to cpus and removes it when the
// test ends (after its processes were killed).
func newTestCgroup(t *testing.T, root, cpus string) *testCgroup {
	t.Helper()
	name := fmt.Sprintf("sluice-sensors-test-%d", os.Getpid())
	cg := &testCgroup{version: cgroupfs.DetectVersionAt(root)}
	if cg.version == cgroupfs.V2 {
		// Controllers must be enabled for the root's children first.
		for _, c := range []string{"+cpu", "+cpuset", "+memory"} {
			_ = os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte(c), 0)
		}
		cg.dirs = []string{filepath.Join(root, name)}
	} else {
		for _, c := range []string{"cpu", "cpuacct", "cpuset", "memory"} {
			cg.dirs = append(cg.dirs, filepath.Join(root, c, name))
		}
	}
	for _, dir := range cg.dirs {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("create cgroup: %v", err)
		}
		t.Cleanup(func() {
			// The kernel frees a cgroup shortly after its last task exits.
			for range 50 {
				if err := os.Remove(dir); err == nil || os.IsNotExist(err) {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Errorf("remove cgroup %s: still busy", dir)
		})
	}
	cpusetDir := cg.dirs[0]
	if cg.version == cgroupfs.V1 {
		cpusetDir = cg.dirs[2]
		// A v1 cpuset takes no tasks until it has memory nodes.
		mems, err := os.ReadFile(filepath.Join(filepath.Dir(cpusetDir), "cpuset.mems"))
		if err != nil {
			t.Fatal(err)
		}
		writeCgroupFile(t, cpusetDir, "cpuset.mems", strings.TrimSpace(string(mems)))
	}
	writeCgroupFile(t, cpusetDir, "cpuset.cpus", cpus)
	return cg
}

func writeCgroupFile(t *testing.T, dir, file, value string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0); err != nil {
		t.Fatalf("write %s to %s/%s: %v", value, dir, file, err)
	}
}

// spin starts a busy shell inside the cgroup and returns its pid.
func (cg *testCgroup) spin(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for _, dir := range cg.dirs {
		writeCgroupFile(t, dir, "cgroup.procs", strconv.Itoa(cmd.Process.Pid))
	}
	return cmd.Process.Pid
}

// measure reads the container twice, interval apart, on the real clock.
func measure(t *testing.T, cc *ContainerCollector, c state.Container, interval time.Duration) (usage, wait float64) {
	t.Helper()
	ctx := context.Background()
	if _, err := cc.Collect(ctx, time.Now(), []state.Container{c}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(interval)
	obs, err := cc.Collect(ctx, time.Now(), []state.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	return obs[0].CPUUsageCores, obs[0].RunQueueWaitCores
}

// TestRealCgroup runs the collector on a real cgroup pinned to CPU 0. A
// spinner always wants a CPU, so each second it either runs or waits on
// the run queue: usage + wait is the number of spinners, however much
// other work on the machine takes from CPU 0. That sum is what proves the
// wait is measured and not just the usage.
func TestRealCgroup(t *testing.T) {
	testenv.RequireCgroups(t)
	const root = "/sys/fs/cgroup"
	cg := newTestCgroup(t, root, "0")
	c := state.Container{ID: "test/spin", App: "test", Name: "spin", RuntimeID: "spin", Running: true}
	locator := pidsByID{}
	cc := NewContainerCollector(ContainerConfig{CgroupRoot: root}, locator, discardLogger())
	defer cc.Close()

	locator[c.ID] = cg.spin(t)
	usage, wait := measure(t, cc, c, time.Second)
	t.Logf("one spinner on CPU 0 (%s): usage %.3f cores, run-queue wait %.3f cores", cg.version, usage, wait)
	if usage < 0.05 || usage > 1.1 {
		t.Errorf("one spinner used %.3f cores; want up to 1 (it shares CPU 0 with the machine)", usage)
	}
	if sum := usage + wait; sum < 0.85 || sum > 1.15 {
		t.Errorf("one spinner: usage + wait = %.3f cores; want 1", sum)
	}

	cg.spin(t)
	usage2, wait2 := measure(t, cc, c, time.Second)
	t.Logf("two spinners on CPU 0: usage %.3f cores, run-queue wait %.3f cores, satisfaction %.2f", usage2, wait2, usage2/(usage2+wait2))
	if usage2 > 1.1 {
		t.Errorf("two spinners on one CPU used %.3f cores; the cpuset caps them at 1", usage2)
	}
	if sum := usage2 + wait2; sum < 1.7 || sum > 2.3 {
		t.Errorf("two spinners: usage + wait = %.3f cores; want 2", sum)
	}
	if wait2 < 0.5 {
		t.Errorf("two spinners on one CPU waited %.3f cores; each waits while the other runs", wait2)
	}
}
