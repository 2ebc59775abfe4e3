package sensors

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/actuators/cgroup"
)

func TestGroupDirs(t *testing.T) {
	dirsOf := func(v cgroup.Version, procCgroup string) (cgroupDirs, error) {
		g, err := cgroup.GroupFromProcCgroup(v, procCgroup)
		if err != nil {
			return cgroupDirs{}, err
		}
		return groupDirs("/cg", g)
	}
	separate := "4:memory:/docker/a\n3:cpuset:/docker/a\n2:cpuacct:/docker/a\n1:cpu:/docker/a\n0::/docker/a\n"
	dirs, err := dirsOf(cgroup.V1, separate)
	if err != nil {
		t.Fatal(err)
	}
	want := cgroupDirs{version: cgroup.V1, cpu: "/cg/cpu/docker/a", cpuacct: "/cg/cpuacct/docker/a", cpuset: "/cg/cpuset/docker/a", memory: "/cg/memory/docker/a", pressure: "/cg/unified/docker/a"}
	if dirs != want {
		t.Errorf("v1 dirs = %+v, want %+v", dirs, want)
	}
	comounted := "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:cpuset:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n"
	if dirs, err := dirsOf(cgroup.V1, comounted); err != nil || dirs.cpuacct != "/cg/cpuacct/docker/abc" || dirs.pressure != "" {
		t.Errorf("co-mounted v1 dirs = %+v, %v; want cpuacct under /cg/cpuacct and no pressure from the unified root", dirs, err)
	}
	dirs, err = dirsOf(cgroup.V2, separate)
	if err != nil || dirs.cpu != "/cg/docker/a" || dirs.memory != "/cg/docker/a" || dirs.pressure != "/cg/docker/a" {
		t.Errorf("v2 dirs = %+v, %v", dirs, err)
	}
	noMemory := "1:cpu:/x\n"
	if _, err := dirsOf(cgroup.V1, noMemory); err == nil {
		t.Error("a v1 process in no cpuacct cgroup resolved without error")
	}
	if _, err := dirsOf(cgroup.V2, noMemory); err == nil {
		t.Error("a v2 layout without a 0:: line resolved without error")
	}
}

func TestParseCPUStat(t *testing.T) {
	v1, err := parseCPUStatV1("nr_periods 120\nnr_throttled 30\nthrottled_time 1500000000\nnr_bursts 0\n")
	if err != nil || v1 != (cpuCounters{nrThrottled: 30, throttledNanos: 1_500_000_000}) {
		t.Errorf("v1 = %+v, %v", v1, err)
	}
	v2, err := parseCPUStatV2("usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n")
	if err != nil || v2 != (cpuCounters{usageNanos: 2_500_000_000, nrThrottled: 4, throttledNanos: 250_000_000}) {
		t.Errorf("v2 = %+v, %v", v2, err)
	}
	if _, err := parseCPUStatV2("user_usec 1\n"); err == nil {
		t.Error("v2 cpu.stat without usage_usec parsed")
	}
	if _, err := parseCPUStatV1("nr_throttled lots\n"); err == nil || !strings.Contains(err.Error(), "nr_throttled") {
		t.Errorf("bad number: err = %v, want one naming nr_throttled", err)
	}
}

func TestParseCPUSetFile(t *testing.T) {
	if list, err := parseCPUSetFile("0-1,3\n"); err != nil || list != "0-1,3" {
		t.Errorf("cpuset = %q, %v", list, err)
	}
	if _, err := parseCPUSetFile("1-0\n"); err == nil {
		t.Error("descending cpuset accepted")
	}
}

func TestParseSchedstatAndTasks(t *testing.T) {
	wait, err := parseSchedstat("1234567 890123 42\n")
	if err != nil || wait != 890123 {
		t.Errorf("schedstat wait = %d, %v; want 890123", wait, err)
	}
	if _, err := parseSchedstat("1234567\n"); err == nil {
		t.Error("schedstat with one field parsed")
	}
	tids, err := parseTaskList("10\n11\n250\n")
	if err != nil || !reflect.DeepEqual(tids, []int{10, 11, 250}) {
		t.Errorf("tasks = %v, %v", tids, err)
	}
	if tids, err := parseTaskList(""); err != nil || len(tids) != 0 {
		t.Errorf("empty task list = %v, %v", tids, err)
	}
	if _, err := parseTaskList("10\nx\n"); err == nil {
		t.Error("non-numeric thread id accepted")
	}
}

func TestParsePressure(t *testing.T) {
	psi := "some avg10=1.50 avg60=0.80 avg300=0.20 total=4567890\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n"
	total, err := parsePressureSomeTotal(psi)
	if err != nil || total != 4567890 {
		t.Errorf("some total = %d, %v; want 4567890", total, err)
	}
	if _, err := parsePressureSomeTotal("full avg10=0 total=1\n"); err == nil {
		t.Error("pressure without a some line parsed")
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

func TestParseUint(t *testing.T) {
	if v, err := parseUint("123456789\n"); err != nil || v != 123456789 {
		t.Errorf("parseUint = %d, %v", v, err)
	}
	if _, err := parseUint("-1\n"); err == nil {
		t.Error("negative accepted")
	}
}
