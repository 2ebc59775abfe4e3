package cgroupfs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCPUStat(t *testing.T) {
	v1, err := ParseCPUStat(V1, "nr_periods 120\nnr_throttled 30\nthrottled_time 1500000000\nnr_bursts 0\n")
	if err != nil || v1 != (CPUStat{ThrottledPeriods: 30, ThrottledNanos: 1_500_000_000}) {
		t.Errorf("v1 = %+v, %v", v1, err)
	}
	v2, err := ParseCPUStat(V2, "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n")
	if err != nil || v2 != (CPUStat{UsageNanos: 2_500_000_000, ThrottledPeriods: 4, ThrottledNanos: 250_000_000}) {
		t.Errorf("v2 = %+v, %v", v2, err)
	}
	if _, err := ParseCPUStat(V2, "user_usec 1\n"); err == nil {
		t.Error("v2 cpu.stat without usage_usec parsed")
	}
	if _, err := ParseCPUStat(V1, "nr_throttled lots\n"); err == nil || !strings.Contains(err.Error(), "nr_throttled") {
		t.Errorf("bad number: err = %v, want one naming nr_throttled", err)
	}
}

func TestParseCPUSet(t *testing.T) {
	if list, err := ParseCPUSet("0-1,3\n"); err != nil || list != "0-1,3" {
		t.Errorf("cpuset = %q, %v", list, err)
	}
	if list, err := ParseCPUSet("\n"); err != nil || list != "" {
		t.Errorf("empty cpuset = %q, %v", list, err)
	}
	if _, err := ParseCPUSet("1-0\n"); err == nil {
		t.Error("descending cpuset accepted")
	}
}

func TestParseTaskList(t *testing.T) {
	tids, err := ParseTaskList("10\n11\n250\n")
	if err != nil || !reflect.DeepEqual(tids, []int{10, 11, 250}) {
		t.Errorf("tasks = %v, %v", tids, err)
	}
	if tids, err := ParseTaskList(""); err != nil || len(tids) != 0 {
		t.Errorf("empty task list = %v, %v", tids, err)
	}
	if _, err := ParseTaskList("10\nx\n"); err == nil {
		t.Error("non-numeric thread id accepted")
	}
}

func TestParsePressure(t *testing.T) {
	psi := "some avg10=1.50 avg60=0.80 avg300=0.20 total=4567890\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=12\n"
	total, err := ParsePressureSomeTotal(psi)
	if err != nil || total != 4567890 {
		t.Errorf("some total = %d, %v; want 4567890", total, err)
	}
	if _, err := ParsePressureSomeTotal("full avg10=0 total=1\n"); err == nil {
		t.Error("pressure without a some line parsed")
	}
}

func TestParseUint(t *testing.T) {
	if v, err := ParseUint("123456789\n"); err != nil || v != 123456789 {
		t.Errorf("ParseUint = %d, %v", v, err)
	}
	if _, err := ParseUint("-1\n"); err == nil {
		t.Error("negative accepted")
	}
}
