// Package tracestest runs a trace collector for the tests of what sends
// spans to one: a workload's exporter, an agent that forwards.
package tracestest

import (
	"context"
	"testing"

	"github.com/sluice-io/sluice/sensors/traces"
)

// Start binds and serves a collector configured by config until the test
// ends, and fails the test if the collector then stops with an error.
func Start(tb testing.TB, config traces.Config) *traces.Collector {
	tb.Helper()
	c, err := traces.New(config)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("trace collector: %v", err)
		}
	})
	return c
}
