package cgroup

import (
	"testing"
)

func TestParseCPUv1(t *testing.T) {
	got, err := parseCPU(V1, map[string]string{
		"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "200000", "cpu.shares": "512", "cpuset.cpus": "0-1\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 0.25 || got.Shares == nil || *got.Shares != 512 || got.CPUSet != "0-1" {
		t.Errorf("parseCPU(v1) = quota %v shares %v cpuset %q, want 0.25, 512, 0-1", got.QuotaCores, got.Shares, got.CPUSet)
	}
	unlimited, err := parseCPU(V1, map[string]string{
		"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000", "cpu.shares": "1024", "cpuset.cpus": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	if unlimited.QuotaCores != nil {
		t.Errorf("quota -1 parsed as %v cores, want none", *unlimited.QuotaCores)
	}
}

func TestParseCPUv2(t *testing.T) {
	got, err := parseCPU(V2, map[string]string{"cpu.max": "150000 100000", "cpu.weight": "39", "cpuset.cpus": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 1.5 || got.Shares == nil || *got.Shares != 999 || got.CPUSet != "1" {
		t.Errorf("parseCPU(v2) = quota %v shares %v cpuset %q, want 1.5, 999, 1", got.QuotaCores, got.Shares, got.CPUSet)
	}
	unlimited, err := parseCPU(V2, map[string]string{"cpu.max": "max 100000", "cpu.weight": "100"})
	if err != nil {
		t.Fatal(err)
	}
	if unlimited.QuotaCores != nil {
		t.Errorf("cpu.max \"max 100000\" parsed as %v cores, want none", *unlimited.QuotaCores)
	}
}

func TestParseCPURejectsGarbage(t *testing.T) {
	bad := []struct {
		version Version
		files   map[string]string
	}{
		{V2, map[string]string{"cpu.max": "20000", "cpu.weight": "100"}},
		{V2, map[string]string{"cpu.max": "20000 0", "cpu.weight": "100"}},
		{V2, map[string]string{"cpu.max": "max 100000", "cpu.weight": "heavy"}},
		{V1, map[string]string{"cpu.cfs_quota_us": "lots", "cpu.cfs_period_us": "100000", "cpu.shares": "1024"}},
		{V1, map[string]string{"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000", "cpu.shares": ""}},
	}
	for _, tt := range bad {
		if got, err := parseCPU(tt.version, tt.files); err == nil {
			t.Errorf("parseCPU(%s, %v) = %+v, want an error", tt.version, tt.files, got)
		}
	}
}

func TestParseMemoryLimit(t *testing.T) {
	for text, want := range map[string]int64{"268435456\n": 256 << 20, "4096": 4096} {
		got, err := parseMemoryLimit(text)
		if err != nil || got == nil || *got != want {
			t.Errorf("parseMemoryLimit(%q) = %v, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"max", "9223372036854771712", "9223372036854710272"} {
		got, err := parseMemoryLimit(text)
		if err != nil || got != nil {
			t.Errorf("parseMemoryLimit(%q) = %v, %v; want no limit", text, got, err)
		}
	}
	if _, err := parseMemoryLimit("-1"); err == nil {
		t.Error("parseMemoryLimit accepted -1 as a file content")
	}
}

func TestParseCPUFiles(t *testing.T) {
	quota, err := ParseCFSQuota("50000\n", "100000\n")
	if err != nil || quota == nil || *quota != 0.5 {
		t.Errorf("quota 50000/100000 = %v, %v; want 0.5", quota, err)
	}
	if quota, err := ParseCFSQuota("-1\n", "100000\n"); err != nil || quota != nil {
		t.Errorf("quota -1 = %v, %v; want unlimited", quota, err)
	}
	if _, err := ParseCFSQuota("1000", "0"); err == nil {
		t.Error("period 0 accepted")
	}
	if quota, err := ParseCPUMax("150000 100000\n"); err != nil || quota == nil || *quota != 1.5 {
		t.Errorf("cpu.max 150000 100000 = %v, %v; want 1.5", quota, err)
	}
	if quota, err := ParseCPUMax("max 100000\n"); err != nil || quota != nil {
		t.Errorf("cpu.max max = %v, %v; want unlimited", quota, err)
	}
	if _, err := ParseCPUMax("max\n"); err == nil {
		t.Error("cpu.max with one field accepted")
	}
	// Shares 1024 are written as weight 39, which reads back as 999.
	for weight, shares := range map[string]uint64{"39\n": 999, "1": 2, "10000": 262144, "100": 2598} {
		if got, err := ParseCPUWeight(weight); err != nil || got != shares {
			t.Errorf("weight %q = %d shares, %v; want %d", weight, got, err, shares)
		}
	}
	for _, shares := range []uint64{2, 512, 1024, 10000, 262144} {
		weight := WeightFromShares(shares)
		if back := SharesFromWeight(weight); back > shares || shares-back > 26 {
			t.Errorf("shares %d → weight %d → %d shares; want within one weight step below", shares, weight, back)
		}
	}
	for _, bad := range []string{"0", "10001", "heavy"} {
		if got, err := ParseCPUWeight(bad); err == nil {
			t.Errorf("weight %q accepted as %d shares", bad, got)
		}
	}
}
