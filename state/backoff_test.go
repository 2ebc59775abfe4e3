package state_test

import (
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := state.Backoff{Initial: time.Second, Max: 10 * time.Second}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for n, w := range want {
		if got := b.Delay(n); got != w*time.Second {
			t.Errorf("Delay(%d) = %s, want %s", n, got, w*time.Second)
		}
	}
	if got := b.Delay(1 << 20); got != 10*time.Second {
		t.Errorf("Delay(huge) = %s", got)
	}
	if got := (state.Backoff{}).Delay(3); got != 0 {
		t.Errorf("zero backoff waits %s", got)
	}
	filled := state.Backoff{Initial: time.Minute}.WithDefaults(state.Backoff{Initial: time.Second, Max: 30 * time.Second})
	if filled.Max != time.Minute {
		t.Errorf("Max below Initial not raised: %+v", filled)
	}
}
