package state

import "testing"

func TestWorthDefragmenting(t *testing.T) {
	for _, tc := range []struct {
		size, inUse int64
		want        bool
	}{
		{size: 64 << 20, inUse: 16 << 20, want: true},  // 48 MiB free of 64
		{size: 64 << 20, inUse: 40 << 20, want: false}, // less than half free
		{size: 10 << 20, inUse: 4 << 20, want: false},  // 6 MiB free: too little to bother
		{size: 16 << 20, inUse: 8 << 20, want: true},   // exactly half, 8 MiB
	} {
		if got := worthDefragmenting(tc.size, tc.inUse); got != tc.want {
			t.Errorf("size %d, in use %d: %v, want %v", tc.size, tc.inUse, got, tc.want)
		}
	}
}
