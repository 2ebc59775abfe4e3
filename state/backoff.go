package state

import "time"

// Backoff is an exponential delay: Initial after the first failure, doubled
// after each further one, never more than Max. It paces every retry in
// sluice: a failing listing or watch of the store, an actuator call, the
// restart of a crashing app.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Delay is the wait after the given number of earlier failures (0 for the
// first one). A zero Backoff never waits.
func (b Backoff) Delay(earlierFailures int) time.Duration {
	if b.Initial <= 0 {
		return 0
	}
	delay := b.Initial
	for i := 0; i < earlierFailures && delay < b.Max; i++ {
		delay *= 2
	}
	return min(delay, b.Max)
}

// WithDefaults fills unset fields from def, so a zero Backoff in a config
// means "the default", and Max is never below Initial.
func (b Backoff) WithDefaults(def Backoff) Backoff {
	if b.Initial <= 0 {
		b.Initial = def.Initial
	}
	if b.Max <= 0 {
		b.Max = def.Max
	}
	b.Max = max(b.Max, b.Initial)
	return b
}
