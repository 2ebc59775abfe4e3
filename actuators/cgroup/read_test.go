package cgroup

import (
	"testing"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

func TestParseCPUv1(t *testing.T) {
	got, err := parseCPU(cgroupfs.V1, map[string]string{
		"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "200000", "cpu.shares": "512", "cpuset.cpus": "0-1\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 0.25 || got.Shares == nil || *got.Shares != 512 || got.CPUSet != "0-1" {
		t.Errorf("parseCPU(v1) = quota %v shares %v cpuset %q, want 0.25, 512, 0-1", got.QuotaCores, got.Shares, got.CPUSet)
	}
	unlimited, err := parseCPU(cgroupfs.V1, map[string]string{
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
	got, err := parseCPU(cgroupfs.V2, map[string]string{"cpu.max": "150000 100000", "cpu.weight": "39", "cpuset.cpus": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != 1.5 || got.Shares == nil || *got.Shares != 999 || got.CPUSet != "1" {
		t.Errorf("parseCPU(v2) = quota %v shares %v cpuset %q, want 1.5, 999, 1", got.QuotaCores, got.Shares, got.CPUSet)
	}
	unlimited, err := parseCPU(cgroupfs.V2, map[string]string{"cpu.max": "max 100000", "cpu.weight": "100"})
	if err != nil {
		t.Fatal(err)
	}
	if unlimited.QuotaCores != nil {
		t.Errorf("cpu.max \"max 100000\" parsed as %v cores, want none", *unlimited.QuotaCores)
	}
}

func TestParseCPURejectsGarbage(t *testing.T) {
	bad := []struct {
		version cgroupfs.Version
		files   map[string]string
	}{
		{cgroupfs.V2, map[string]string{"cpu.max": "20000", "cpu.weight": "100"}},
		{cgroupfs.V2, map[string]string{"cpu.max": "20000 0", "cpu.weight": "100"}},
		{cgroupfs.V2, map[string]string{"cpu.max": "max 100000", "cpu.weight": "heavy"}},
		{cgroupfs.V1, map[string]string{"cpu.cfs_quota_us": "lots", "cpu.cfs_period_us": "100000", "cpu.shares": "1024"}},
		{cgroupfs.V1, map[string]string{"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000", "cpu.shares": ""}},
	}
	for _, tt := range bad {
		if got, err := parseCPU(tt.version, tt.files); err == nil {
			t.Errorf("parseCPU(%s, %v) = %+v, want an error", tt.version, tt.files, got)
		}
	}
}
