package cgroupfs

import "testing"

func TestParseQuota(t *testing.T) {
	quota, err := ParseQuota(V1, "50000\n", "100000\n")
	if err != nil || quota == nil || *quota != 0.5 {
		t.Errorf("quota 50000/100000 = %v, %v; want 0.5", quota, err)
	}
	if quota, err := ParseQuota(V1, "50000", "200000"); err != nil || quota == nil || *quota != 0.25 {
		t.Errorf("quota 50000/200000 = %v, %v; want 0.25", quota, err)
	}
	if quota, err := ParseQuota(V1, "-1\n", "100000\n"); err != nil || quota != nil {
		t.Errorf("quota -1 = %v, %v; want unlimited", quota, err)
	}
	if quota, err := ParseQuota(V2, "150000 100000\n", ""); err != nil || quota == nil || *quota != 1.5 {
		t.Errorf("cpu.max 150000 100000 = %v, %v; want 1.5", quota, err)
	}
	if quota, err := ParseQuota(V2, "max 100000\n", ""); err != nil || quota != nil {
		t.Errorf("cpu.max max = %v, %v; want unlimited", quota, err)
	}
	for _, bad := range []struct {
		v             Version
		quota, period string
	}{{V1, "1000", "0"}, {V1, "lots", "100000"}, {V1, "1000", "-5"}, {V2, "max\n", ""}, {V2, "20000", ""}, {V2, "20000 0", ""}} {
		if got, err := ParseQuota(bad.v, bad.quota, bad.period); err == nil {
			t.Errorf("ParseQuota(%s, %q, %q) = %v, want an error", bad.v, bad.quota, bad.period, got)
		}
	}
}

func TestFormatCPUMaxReadsBack(t *testing.T) {
	if got := FormatCPUMax(nil, 100000); got != "max 100000" {
		t.Errorf("no quota = %q, want \"max 100000\"", got)
	}
	micros := int64(20000)
	text := FormatCPUMax(&micros, 100000)
	if quota, err := ParseCPUMax(text); text != "20000 100000" || err != nil || quota == nil || *quota != 0.2 {
		t.Errorf("20000 µs per 100000 = %q, which reads as %v, %v; want \"20000 100000\" and 0.2", text, quota, err)
	}
}

func TestParseShares(t *testing.T) {
	if got, err := ParseShares(V1, "512\n"); err != nil || got != 512 {
		t.Errorf("v1 cpu.shares 512 = %d, %v", got, err)
	}
	// Shares 1024 are written as weight 39, which reads back as 999.
	for weight, shares := range map[string]uint64{"39\n": 999, "1": 2, "10000": 262144, "100": 2598} {
		if got, err := ParseShares(V2, weight); err != nil || got != shares {
			t.Errorf("weight %q = %d shares, %v; want %d", weight, got, err, shares)
		}
	}
	for _, bad := range []struct {
		v       Version
		content string
	}{{V2, "0"}, {V2, "10001"}, {V2, "heavy"}, {V1, ""}, {V1, "-2"}} {
		if got, err := ParseShares(bad.v, bad.content); err == nil {
			t.Errorf("ParseShares(%s, %q) = %d, want an error", bad.v, bad.content, got)
		}
	}
}

func TestFormatShares(t *testing.T) {
	for _, tt := range []struct {
		v      Version
		shares uint64
		want   string
	}{{V1, 512, "512"}, {V2, 1024, "39"}, {V2, 2, "1"}, {V2, 262144, "10000"}} {
		if got, err := FormatShares(tt.v, tt.shares); err != nil || got != tt.want {
			t.Errorf("FormatShares(%s, %d) = %q, %v; want %q", tt.v, tt.shares, got, err, tt.want)
		}
	}
	for _, shares := range []uint64{0, 1, 262145} {
		if got, err := FormatShares(V1, shares); err == nil {
			t.Errorf("FormatShares accepted %d shares as %q", shares, got)
		}
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
		if s > MinShares && WeightFromShares(s-1) == weight {
			t.Fatalf("SharesFromWeight(%d) = %d is not the smallest shares with that weight", weight, s)
		}
	}
	for _, shares := range []uint64{2, 512, 1024, 10000, 262144} {
		weight := WeightFromShares(shares)
		if back := SharesFromWeight(weight); back > shares || shares-back > 26 {
			t.Errorf("shares %d → weight %d → %d shares; want within one weight step below", shares, weight, back)
		}
	}
}
