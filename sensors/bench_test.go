package sensors

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// BenchmarkContainerCollect20 measures one tick of the container
// collector over 20 idle containers with 4 threads each, on a fixture
// tree (the cost of the reads and parses, with every file kept open).
func BenchmarkContainerCollect20(b *testing.B) {
	root := b.TempDir()
	locator := pidsByID{}
	var containers []state.Container
	files := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("app%02d/main", i)
		pid := 1000 + 10*i
		locator[id] = pid
		containers = append(containers, state.Container{ID: id, RuntimeID: id, Running: true})
		cg := fmt.Sprintf("/docker/c%02d", i)
		files[fmt.Sprintf("proc/%d/cgroup", pid)] = "4:memory:" + cg + "\n3:cpuset:" + cg + "\n2:cpuacct:" + cg + "\n1:cpu:" + cg + "\n"
		files[fmt.Sprintf("proc/%d/net/dev", pid)] = netDevWith(1000, 2000)
		tasks := ""
		for tid := pid; tid < pid+4; tid++ {
			files[fmt.Sprintf("proc/%d/schedstat", tid)] = "123456 7890 12\n"
			tasks += fmt.Sprintf("%d\n", tid)
		}
		for rel, content := range map[string]string{
			"cpu" + cg + "/cpu.stat":                 "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
			"cpu" + cg + "/cpu.cfs_quota_us":         "-1\n",
			"cpu" + cg + "/cpu.cfs_period_us":        "100000\n",
			"cpu" + cg + "/cpu.shares":               "1024\n",
			"cpu" + cg + "/tasks":                    tasks,
			"cpuacct" + cg + "/cpuacct.usage":        "123456789\n",
			"cpuset" + cg + "/cpuset.cpus":           "0-1\n",
			"memory" + cg + "/memory.usage_in_bytes": "1048576\n",
		} {
			files["cg/"+rel] = content
		}
	}
	writeTreeB(b, root, files)
	cc := NewContainerCollector(ContainerConfig{ProcRoot: filepath.Join(root, "proc"), CgroupRoot: filepath.Join(root, "cg"), Version: cgroupfs.V1}, locator, discardLogger())
	defer cc.Close()
	ctx := context.Background()
	if _, err := cc.Collect(ctx, t0, containers); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := cc.Collect(ctx, t0.Add(secondsDuration(i+1)), containers); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cc.OpenFiles()), "open-files")
}

// BenchmarkHostCollect reads this machine's /proc and /sys.
func BenchmarkHostCollect(b *testing.B) {
	host, err := NewHostCollector(HostConfig{}, discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := range b.N {
		if _, err := host.Collect(t0.Add(secondsDuration(i))); err != nil {
			b.Fatal(err)
		}
	}
}
