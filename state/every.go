package state

import (
	"context"
	"time"
)

// Every calls fn each time interval passes, the first time one interval
// after the call, until ctx ends: the loop of every periodic chore that
// has nothing to do between its runs.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			fn()
		}
	}
}
