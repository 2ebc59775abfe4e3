package sim

import "time"

// Clock is the simulator's virtual time. It moves only when the caller
// advances it, so a run is a function of its inputs and not of the host's
// speed or wall clock.
type Clock struct {
	now time.Time
}

// NewClock returns a clock that reads epoch until it is advanced. Pass a
// fixed epoch (not time.Now()) so two runs see the same times.
func NewClock(epoch time.Time) *Clock {
	return &Clock{now: epoch}
}

// Now returns the current virtual time.
func (c *Clock) Now() time.Time { return c.now }

// Advance moves the clock forward by d. A negative d is ignored: virtual
// time, like the event log it stamps, never runs backwards.
func (c *Clock) Advance(d time.Duration) {
	if d > 0 {
		c.now = c.now.Add(d)
	}
}
