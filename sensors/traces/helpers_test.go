package traces

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// loopbackReceivers binds every receiver to a free port on 127.0.0.1.
var loopbackReceivers = Receivers{
	OTLPGRPC:      "127.0.0.1:0",
	OTLPHTTP:      "127.0.0.1:0",
	JaegerCompact: "127.0.0.1:0",
	JaegerBinary:  "127.0.0.1:0",
}

type runningCollector struct {
	*Collector
	registry *prometheus.Registry
	stop     func() error
}

// startCollector runs a collector on loopback until the test ends (or
// stop is called), resolving the test bindings.
func startCollector(t testing.TB, config Config) *runningCollector {
	t.Helper()
	if config.Receivers == (Receivers{}) {
		config.Receivers = loopbackReceivers
	}
	if config.Resolver == nil {
		config.Resolver = mapResolver(testBindings)
	}
	reg := prometheus.NewRegistry()
	config.Registry = reg
	config.Logger = slog.New(slog.DiscardHandler)
	c, err := New(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	stopped := false
	var result error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(2 * ShutdownTimeout):
				result = errors.New("collector did not stop")
			}
		}
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("collector: %v", err)
		}
	})
	return &runningCollector{Collector: c, registry: reg, stop: stop}
}

func (c *runningCollector) received(receiver string) float64 {
	return testutil.ToFloat64(c.metrics.received.WithLabelValues(receiver))
}

func (c *runningCollector) decodeErrors(receiver string) float64 {
	return testutil.ToFloat64(c.metrics.decodeErrors.WithLabelValues(receiver))
}

func (c *runningCollector) dropped(reason string) float64 {
	return testutil.ToFloat64(c.metrics.dropped.WithLabelValues(reason))
}

// waitFor polls cond, for datagrams whose arrival nothing acknowledges.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func toFloat(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
func hexString(b []byte) string             { return hex.EncodeToString(b) }
