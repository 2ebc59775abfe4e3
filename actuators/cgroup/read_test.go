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
