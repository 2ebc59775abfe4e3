package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sluice-io/sluice/sensors"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// Metrics is the agent's own Prometheus registry: no global state.
type Metrics struct {
	// Registry holds every metric of the agent; the node's own (trace
	// intake) register here too.
	Registry *prometheus.Registry
	Sensors  *sensors.Metrics
	// Observations publishes every observation the agent records, so a
	// scraper sees the containers' CPU, wait and throttling as sluice does.
	Observations *sensors.PrometheusExporter
	steps        *prometheus.CounterVec
	stepTimes    prometheus.Histogram
}

// NewMetrics creates the agent's registry and metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry:     reg,
		Sensors:      sensors.NewMetrics(reg),
		Observations: sensors.NewPrometheusExporter(reg),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_policy_steps_total",
			Help: "Policy steps by outcome: a changed decision, an unchanged one (not written), or a policy error that kept the last decision.",
		}, []string{"outcome"}),
		stepTimes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_policy_step_duration_seconds",
			Help:    "Time from reading the view to recording the policy step's outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
	}
	reg.MustRegister(m.steps, m.stepTimes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// decided counts one policy step by what it wrote.
func (m *Metrics) decided(ops []state.Op, took time.Duration) {
	outcome := "unchanged"
	for _, op := range ops {
		switch kind := state.ParseKey(op.Key).Kind; {
		case kind == state.KindDecision:
			outcome = "decision"
		case kind == state.KindPolicyError && !op.Delete:
			outcome = "policy_error"
		}
	}
	m.steps.WithLabelValues(outcome).Inc()
	m.stepTimes.Observe(took.Seconds())
}

// serve answers /metrics on addr until ctx ends, and /traces where the
// runtime receives traces.
func (m *Metrics) serve(ctx context.Context, addr string, traceHandler http.Handler, logger *slog.Logger) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	if traceHandler != nil {
		mux.Handle(traces.RecentPath, traceHandler)
	}
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		server.Shutdown(shutdown)
	}()
	logger.Info("serving metrics", "addr", listener.Addr().String())
	if err := server.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
