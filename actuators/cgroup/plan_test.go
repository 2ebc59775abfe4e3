package cgroup

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func cores(v float64) *float64 { return &v }
func shares(v uint64) *uint64  { return &v }
func bytes(v int64) *int64     { return &v }

func TestPlanCPU(t *testing.T) {
	tests := []struct {
		name    string
		version Version
		in      state.CPUResources
		want    []Write
	}{
		{"v1 quota, shares and cpuset", V1,
			state.CPUResources{QuotaCores: cores(0.2), Shares: shares(512), CPUSet: "1"},
			[]Write{
				{File{"cpu", "cpu.cfs_period_us"}, "100000"},
				{File{"cpu", "cpu.cfs_quota_us"}, "20000"},
				{File{"cpu", "cpu.shares"}, "512"},
				{File{"cpuset", "cpuset.cpus"}, "1"},
			}},
		{"v1 no quota leaves the rest alone", V1,
			state.CPUResources{},
			[]Write{{File{"cpu", "cpu.cfs_quota_us"}, "-1"}}},
		{"v1 quota above one core", V1,
			state.CPUResources{QuotaCores: cores(1.5)},
			[]Write{
				{File{"cpu", "cpu.cfs_period_us"}, "100000"},
				{File{"cpu", "cpu.cfs_quota_us"}, "150000"},
			}},
		{"v2 quota, shares and cpuset", V2,
			state.CPUResources{QuotaCores: cores(0.2), Shares: shares(1024), CPUSet: " 0-1 "},
			[]Write{
				{File{"cpu", "cpu.max"}, "20000 100000"},
				{File{"cpu", "cpu.weight"}, "39"},
				{File{"cpuset", "cpuset.cpus"}, "0-1"},
			}},
		{"v2 no quota", V2,
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
		for _, v := range []Version{V1, V2} {
			_, err := PlanCPU(v, tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s on %s: err = %v, want it to mention %q", tt.name, v, err, tt.want)
			}
		}
	}
}

func TestPlanMemory(t *testing.T) {
	tests := []struct {
		version Version
		limit   *int64
		want    Write
	}{
		{V1, bytes(256 << 20), Write{File{"memory", "memory.limit_in_bytes"}, "268435456"}},
		{V1, nil, Write{File{"memory", "memory.limit_in_bytes"}, "-1"}},
		{V2, bytes(256 << 20), Write{File{"memory", "memory.max"}, "268435456"}},
		{V2, nil, Write{File{"memory", "memory.max"}, "max"}},
	}
	for _, tt := range tests {
		got, err := PlanMemory(tt.version, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("PlanMemory(%s, %v) = %v, want [%v]", tt.version, tt.limit, got, tt.want)
		}
	}
	if _, err := PlanMemory(V1, bytes(0)); err == nil {
		t.Error("PlanMemory accepted a zero limit")
	}
}

func TestWeightFromShares(t *testing.T) {
	// Values from the formula 1 + ((shares-2)*9999)/262142 worked by hand.
	for shares, weight := range map[uint64]uint64{2: 1, 1024: 39, 2048: 79, 262144: 10000, 131073: 5000} {
		if got := WeightFromShares(shares); got != weight {
			t.Errorf("WeightFromShares(%d) = %d, want %d", shares, got, weight)
		}
	}
}

func TestSharesFromWeightInvertsWeightFromShares(t *testing.T) {
	for weight := uint64(minWeight); weight <= maxWeight; weight++ {
		s := SharesFromWeight(weight)
		if got := WeightFromShares(s); got != weight {
			t.Fatalf("WeightFromShares(SharesFromWeight(%d) = %d) = %d", weight, s, got)
		}
		if s > minShares && WeightFromShares(s-1) == weight {
			t.Fatalf("SharesFromWeight(%d) = %d is not the smallest shares with that weight", weight, s)
		}
	}
}
