package sensors

import (
	"testing"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

func TestGroupDirs(t *testing.T) {
	dirsOf := func(v cgroupfs.Version, procCgroup string) (cgroupDirs, error) {
		g, err := cgroupfs.GroupFromProcCgroup(v, procCgroup)
		if err != nil {
			return cgroupDirs{}, err
		}
		return groupDirs("/cg", g)
	}
	separate := "4:memory:/docker/a\n3:cpuset:/docker/a\n2:cpuacct:/docker/a\n1:cpu:/docker/a\n0::/docker/a\n"
	dirs, err := dirsOf(cgroupfs.V1, separate)
	if err != nil {
		t.Fatal(err)
	}
	want := cgroupDirs{version: cgroupfs.V1, cpu: "/cg/cpu/docker/a", cpuacct: "/cg/cpuacct/docker/a", cpuset: "/cg/cpuset/docker/a", memory: "/cg/memory/docker/a", pressure: "/cg/unified/docker/a"}
	if dirs != want {
		t.Errorf("v1 dirs = %+v, want %+v", dirs, want)
	}
	comounted := "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:cpuset:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n"
	if dirs, err := dirsOf(cgroupfs.V1, comounted); err != nil || dirs.cpuacct != "/cg/cpuacct/docker/abc" || dirs.pressure != "" {
		t.Errorf("co-mounted v1 dirs = %+v, %v; want cpuacct under /cg/cpuacct and no pressure from the unified root", dirs, err)
	}
	dirs, err = dirsOf(cgroupfs.V2, separate)
	if err != nil || dirs.cpu != "/cg/docker/a" || dirs.memory != "/cg/docker/a" || dirs.pressure != "/cg/docker/a" {
		t.Errorf("v2 dirs = %+v, %v", dirs, err)
	}
	noMemory := "1:cpu:/x\n"
	if _, err := dirsOf(cgroupfs.V1, noMemory); err == nil {
		t.Error("a v1 process in no cpuacct cgroup resolved without error")
	}
	if _, err := dirsOf(cgroupfs.V2, noMemory); err == nil {
		t.Error("a v2 layout without a 0:: line resolved without error")
	}
}

func TestParseSchedstat(t *testing.T) {
	wait, err := parseSchedstat("1234567 890123 42\n")
	if err != nil || wait != 890123 {
		t.Errorf("schedstat wait = %d, %v; want 890123", wait, err)
	}
	if _, err := parseSchedstat("1234567\n"); err == nil {
		t.Error("schedstat with one field parsed")
	}
}

const netDevFixture = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0: 5000000    4000    0    0    0     0          0         0   700000    3000    0    0    0     0       0          0
`

func TestParseNetDevInterface(t *testing.T) {
	rx, tx, found, err := parseNetDevInterface(netDevFixture, "eth0")
	if err != nil || !found || rx != 5000000 || tx != 700000 {
		t.Errorf("eth0 = rx %d tx %d found %v err %v; want 5000000, 700000", rx, tx, found, err)
	}
	if _, _, found, err := parseNetDevInterface(netDevFixture, "eth1"); found || err != nil {
		t.Errorf("eth1 found=%v err=%v; want not found", found, err)
	}
	if _, _, _, err := parseNetDevInterface("eth0: 1 2 3\n", "eth0"); err == nil {
		t.Error("short net/dev line parsed")
	}
}
