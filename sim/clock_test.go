package sim

import (
	"testing"
	"time"
)

func TestClockStartsAtEpochAndAdvances(t *testing.T) {
	epoch := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := NewClock(epoch)
	if got := c.Now(); !got.Equal(epoch) {
		t.Fatalf("Now() = %v, want epoch %v", got, epoch)
	}
	c.Advance(250 * time.Millisecond)
	c.Advance(750 * time.Millisecond)
	if got, want := c.Now(), epoch.Add(time.Second); !got.Equal(want) {
		t.Fatalf("after 1s: Now() = %v, want %v", got, want)
	}
}

func TestClockIgnoresNegativeAdvance(t *testing.T) {
	epoch := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(epoch)
	c.Advance(time.Second)
	c.Advance(-5 * time.Second)
	if got, want := c.Now(), epoch.Add(time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v (negative advance must not move the clock)", got, want)
	}
}
