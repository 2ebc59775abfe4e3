package agent

import (
	"context"
	"net/http"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// Node is what an agent drives: the containers, their resources and the
// sensors that observe them, on a real node (NewDockerNode) or a simulated
// one (NewSimNode).
type Node interface {
	// Runtime names the kind of node ("docker", "sim").
	Runtime() string
	// Info is the node's registration, without the agent's version.
	Info() state.NodeInfo
	Containers() reconciler.Runtime
	CPU() reconciler.CPUController
	Bandwidth() reconciler.BandwidthController
	Clock() reconciler.Clock
	// Observe returns the observation of the interval that just ended. The
	// view gives the containers' classes and pinning from their specs.
	Observe(ctx context.Context, view *state.View) (state.Observation, error)
	// Run does the node's background work (trace intake) until ctx ends.
	Run(ctx context.Context) error
	// TraceHandler serves recent traces, or is nil where there are none.
	TraceHandler() http.Handler
	Close() error
}
