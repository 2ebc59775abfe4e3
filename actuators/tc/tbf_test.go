package tc

import (
	"math"
	"testing"
)

func TestTBFFor(t *testing.T) {
	tests := []struct {
		mbit float64
		mtu  int
		want TBF
	}{
		// 20 Mbit/s is 2.5 MB/s: 10 ms of burst is 25000 bytes, 50 ms of
		// queue another 125000.
		{20, 1500, TBF{RateBytes: 2500000, BurstBytes: 25000, LimitBytes: 150000}},
		// At 1 Mbit/s 10 ms is 1250 bytes, less than two 1514-byte frames.
		{1, 1500, TBF{RateBytes: 125000, BurstBytes: 3028, LimitBytes: 9278}},
		{1000, 9000, TBF{RateBytes: 125000000, BurstBytes: 1250000, LimitBytes: 7500000}},
		{0.5, 1400, TBF{RateBytes: 62500, BurstBytes: 2828, LimitBytes: 5953}},
	}
	for _, tt := range tests {
		got, err := TBFFor(tt.mbit, tt.mtu)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("TBFFor(%v, %d) = %+v, want %+v", tt.mbit, tt.mtu, got, tt.want)
		}
		if got.Mbit() != tt.mbit {
			t.Errorf("TBFFor(%v, %d).Mbit() = %v", tt.mbit, tt.mtu, got.Mbit())
		}
	}
}

func TestTBFForRejectsBadInput(t *testing.T) {
	for _, mbit := range []float64{0, -5, 0.001, math.NaN(), math.Inf(1), 1e9} {
		if got, err := TBFFor(mbit, 1500); err == nil {
			t.Errorf("TBFFor(%v) = %+v, want an error", mbit, got)
		}
	}
	if _, err := TBFFor(10, 0); err == nil {
		t.Error("TBFFor accepted an MTU of 0")
	}
}
