package agent

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// Pages are web pages served at / beside the metrics (package ui). They
// read the agent's own view, and Run keeps what they show over time.
type Pages interface {
	http.Handler
	Run(ctx context.Context) error
}

// PageSources is what an agent's pages may read.
type PageSources struct {
	Node string
	// Views is the agent's follower: pages open no watch of their own.
	Views *state.Follower
	// Store is read for what the view does not hold (an app's history).
	Store state.Store
	// Traces is the node's trace intake, nil on a node without one.
	Traces http.Handler
	// Runtime is the node's container runtime.
	Runtime      reconciler.Runtime
	Interval     time.Duration
	StoreTimeout time.Duration
}

// WithPages serves the pages build makes at / of Config.MetricsAddr.
func WithPages(build func(PageSources) (Pages, error)) Option {
	return func(a *Agent) { a.buildPages = build }
}

// newPages builds the pages, if any were asked for.
func (a *Agent) newPages() error {
	if a.buildPages == nil {
		return nil
	}
	var err error
	a.pages, err = a.buildPages(PageSources{
		Node: a.cfg.Node, Views: a.follower, Store: a.store, Traces: a.node.TraceHandler(),
		Runtime: a.node.Containers(), Interval: a.cfg.Interval, StoreTimeout: a.cfg.StoreTimeout,
	})
	return err
}
