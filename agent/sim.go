package agent

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// SimNode is a simulated node: each Observe advances its CPU model by one
// tick of virtual time.
type SimNode struct {
	node *sim.Node
	tick time.Duration
}

var _ Node = (*SimNode)(nil)

// NewSimNode wraps a simulated node that advances by tick per Observe.
func NewSimNode(node *sim.Node, tick time.Duration) *SimNode {
	return &SimNode{node: node, tick: tick}
}

// Sim is the simulated node itself, for its ground truth (LastTick).
func (s *SimNode) Sim() *sim.Node { return s.node }

func (s *SimNode) Runtime() string                           { return sim.RuntimeName }
func (s *SimNode) Info() state.NodeInfo                      { return s.node.Info() }
func (s *SimNode) Containers() reconciler.Runtime            { return s.node }
func (s *SimNode) CPU() reconciler.CPUController             { return s.node }
func (s *SimNode) Bandwidth() reconciler.BandwidthController { return s.node }
func (s *SimNode) Clock() reconciler.Clock                   { return s.node.Clock() }
func (s *SimNode) Close() error                              { return nil }

// Run has nothing to do: the simulator's latency comes from its model.
func (s *SimNode) Run(context.Context) error { return nil }

// TraceHandler is nil: a simulated node receives no spans.
func (s *SimNode) TraceHandler() http.Handler { return nil }

// Observe runs the model for one tick; the specs are the model's already.
func (s *SimNode) Observe(context.Context, *state.View) (state.Observation, error) {
	return s.node.Tick(s.tick), nil
}
