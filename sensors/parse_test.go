package sensors

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	v1 := "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n3:cpuset:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n"
	pc, err := parseProcCgroup(v1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"memory": "/docker/abc", "cpu": "/docker/abc", "cpuacct": "/docker/abc", "cpuset": "/docker/abc", "systemd": "/docker/abc"}
	if !reflect.DeepEqual(pc.v1, want) || !pc.hasUnified || pc.unified != "/" {
		t.Errorf("v1 parse = %+v, want v1 %v and unified /", pc, want)
	}
	pc, err = parseProcCgroup("0::/system.slice/docker-abc.scope\n")
	if err != nil || pc.unified != "/system.slice/docker-abc.scope" || len(pc.v1) != 0 {
		t.Errorf("v2 parse = %+v, %v", pc, err)
	}
	if _, err := parseProcCgroup("garbage\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed line: err = %v, want one naming line 1", err)
	}
}

func TestResolveCgroupDirs(t *testing.T) {
	pc, _ := parseProcCgroup("4:memory:/docker/a\n3:cpuset:/docker/a\n2:cpuacct:/docker/a\n1:cpu:/docker/a\n0::/docker/a\n")
	dirs, err := resolveCgroupDirs("/cg", CgroupV1, pc)
	if err != nil {
		t.Fatal(err)
	}
	want := cgroupDirs{mode: CgroupV1, cpu: "/cg/cpu/docker/a", cpuacct: "/cg/cpuacct/docker/a", cpuset: "/cg/cpuset/docker/a", memory: "/cg/memory/docker/a", pressure: "/cg/unified/docker/a"}
	if dirs != want {
		t.Errorf("v1 dirs = %+v, want %+v", dirs, want)
	}
	dirs, err = resolveCgroupDirs("/cg", CgroupV2, pc)
	if err != nil || dirs.cpu != "/cg/docker/a" || dirs.memory != "/cg/docker/a" {
		t.Errorf("v2 dirs = %+v, %v", dirs, err)
	}
	noMemory, _ := parseProcCgroup("1:cpu:/x\n")
	if _, err := resolveCgroupDirs("/cg", CgroupV1, noMemory); err == nil {
		t.Error("a v1 process in no cpuacct cgroup resolved without error")
	}
	if _, err := resolveCgroupDirs("/cg", CgroupV2, noMemory); err == nil {
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

func TestParseCPULimits(t *testing.T) {
	quota, err := parseCFSQuota("50000\n", "100000\n")
	if err != nil || quota == nil || *quota != 0.5 {
		t.Errorf("quota 50000/100000 = %v, %v; want 0.5", quota, err)
	}
	if quota, err := parseCFSQuota("-1\n", "100000\n"); err != nil || quota != nil {
		t.Errorf("quota -1 = %v, %v; want unlimited", quota, err)
	}
	if _, err := parseCFSQuota("1000", "0"); err == nil {
		t.Error("period 0 accepted")
	}
	if quota, err := parseCPUMax("150000 100000\n"); err != nil || quota == nil || *quota != 1.5 {
		t.Errorf("cpu.max 150000 100000 = %v, %v; want 1.5", quota, err)
	}
	if quota, err := parseCPUMax("max 100000\n"); err != nil || quota != nil {
		t.Errorf("cpu.max max = %v, %v; want unlimited", quota, err)
	}
	if _, err := parseCPUMax("max\n"); err == nil {
		t.Error("cpu.max with one field accepted")
	}
	// The inverse of the linear mapping the cgroup actuator writes with:
	// shares 1024 are written as weight 39, which reads back as 999.
	for weight, shares := range map[string]uint64{"39": 999, "1": 2, "10000": 262144, "100": 2598} {
		if got, err := parseCPUWeight(weight); err != nil || got != shares {
			t.Errorf("weight %s = %d shares, %v; want %d", weight, got, err, shares)
		}
	}
	for _, shares := range []uint64{2, 512, 1024, 10000, 262144} {
		weight := 1 + ((shares-2)*9999)/262142
		if back := sharesFromWeight(weight); back > shares || shares-back > 26 {
			t.Errorf("shares %d → weight %d → %d shares; want within one weight step below", shares, weight, back)
		}
	}
	if _, err := parseCPUWeight("0"); err == nil {
		t.Error("weight 0 accepted")
	}
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
