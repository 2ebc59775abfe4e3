package cgroup

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

func cores(v float64) *float64 { return &v }
func shares(v uint64) *uint64  { return &v }

func TestPlanCPU(t *testing.T) {
	tests := []struct {
		name    string
		version cgroupfs.Version
		in      state.CPUResources
		want    []Write
	}{
		{"v1 quota, shares and cpuset", cgroupfs.V1,
			state.CPUResources{QuotaCores: cores(0.2), Shares: shares(512), CPUSet: "1"},
			[]Write{
				{File{"cpu", "cpu.cfs_period_us"}, "100000"},
				{File{"cpu", "cpu.cfs_quota_us"}, "20000"},
				{File{"cpu", "cpu.shares"}, "512"},
				{File{"cpuset", "cpuset.cpus"}, "1"},
			}},
		{"v1 no quota leaves the rest alone", cgroupfs.V1,
			state.CPUResources{},
			[]Write{{File{"cpu", "cpu.cfs_quota_us"}, "-1"}}},
		{"v1 quota above one core", cgroupfs.V1,
			state.CPUResources{QuotaCores: cores(1.5)},
			[]Write{
				{File{"cpu", "cpu.cfs_period_us"}, "100000"},
				{File{"cpu", "cpu.cfs_quota_us"}, "150000"},
			}},
		{"v2 quota, shares and cpuset", cgroupfs.V2,
			state.CPUResources{QuotaCores: cores(0.2), Shares: shares(1024), CPUSet: " 0-1 "},
			[]Write{
				{File{"cpu", "cpu.max"}, "20000 100000"},
				{File{"cpu", "cpu.weight"}, "39"},
				{File{"cpuset", "cpuset.cpus"}, "0-1"},
			}},
		{"v2 no quota", cgroupfs.V2,
			state.CPUResources{Shares: shares(2)},
			[]Write{{File{"cpu", "cpu.max"}, "max 100000"}, {File{"cpu", "cpu.weight"}, "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlanCPU(tt.version, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PlanCPU(%s) =\n%v\nwant\n%v", tt.version, got, tt.want)
			}
		})
	}
}

func TestPlanCPURejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   state.CPUResources
		want string
	}{
		{"zero quota", state.CPUResources{QuotaCores: cores(0)}, "must be a positive number"},
		{"negative quota", state.CPUResources{QuotaCores: cores(-1)}, "must be a positive number"},
		{"quota below the kernel minimum", state.CPUResources{QuotaCores: cores(0.004)}, "below the kernel minimum of 0.01 cores"},
		{"shares below 2", state.CPUResources{Shares: shares(1)}, "cpu shares 1: must be in [2, 262144]"},
		{"shares above the maximum", state.CPUResources{Shares: shares(300000)}, "must be in [2, 262144]"},
		{"bad cpuset", state.CPUResources{CPUSet: "2-1"}, "cpuset"},
	}
	for _, tt := range tests {
		for _, v := range []cgroupfs.Version{cgroupfs.V1, cgroupfs.V2} {
			_, err := PlanCPU(v, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s on %s: err = %v, want it to mention %q", tt.name, v, err, tt.want)
			}
		}
	}
}
