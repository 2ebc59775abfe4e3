package reconciler

import (
	"time"

	"github.com/sluice-io/sluice/state"
)

// DefaultRestartBackoff paces the restarts of a crashing app, as a kubelet
// paces a crash loop.
var DefaultRestartBackoff = state.Backoff{Initial: time.Second, Max: 5 * time.Minute}

// DefaultActionBackoff paces the retries of one failing actuator call.
var DefaultActionBackoff = state.Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second}
