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

	"github.com/sluice-io/sluice/reconciler"
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
	// actions, actionErrors and transitions count what the reconciler did.
	actions      *prometheus.CounterVec
	actionErrors *prometheus.CounterVec
	transitions  *prometheus.CounterVec
	// followerLag is how long a step waited for the follower to fold the
	// observation it had just written.
	followerLag prometheus.Histogram
	// view reads the agent's view at scrape time (viewCollector).
	view *viewCollector
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
	m.actions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_reconcile_actions_total",
		Help: "Actions the reconciler carried out, by kind.",
	}, []string{"kind"})
	m.actionErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_reconcile_action_errors_total",
		Help: "Actions an actuator refused or that had no effect, by kind; each is retried with backoff.",
	}, []string{"kind"})
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_app_transitions_total",
		Help: "Lifecycle transitions of the node's apps written to the store, by phase left and phase entered.",
	}, []string{"from", "to"})
	m.followerLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sluice_follower_lag_seconds",
		Help:    "Time from the store taking an observation to the follower's view holding it.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
	})
	m.view = &viewCollector{}
	// Every series a dashboard queries exists from the start, at 0, so
	// that a rate over it is 0 rather than no data.
	for _, outcome := range []string{"decision", "unchanged", "policy_error"} {
		m.steps.WithLabelValues(outcome)
	}
	for _, kind := range []reconciler.ActionKind{reconciler.ActionStop, reconciler.ActionRemove, reconciler.ActionCreate,
		reconciler.ActionSetCPU, reconciler.ActionSetBandwidth} {
		m.actions.WithLabelValues(string(kind))
		m.actionErrors.WithLabelValues(string(kind))
	}
	reg.MustRegister(m.steps, m.stepTimes, m.actions, m.actionErrors, m.transitions, m.followerLag, m.view,
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

// acted counts one action the reconciler carried out, or failed to.
func (m *Metrics) acted(action reconciler.Action, err error) {
	if err != nil {
		m.actionErrors.WithLabelValues(string(action.Kind)).Inc()
		return
	}
	m.actions.WithLabelValues(string(action.Kind)).Inc()
}

// transitioned counts one lifecycle transition.
func (m *Metrics) transitioned(status state.AppStatus) {
	if t := status.Transition; t != nil {
		m.transitions.WithLabelValues(string(t.From), string(t.To)).Inc()
	}
}

// serve answers /metrics on addr until ctx ends, /traces where the
// runtime receives traces, and the pages, if any, at /.
func (m *Metrics) serve(ctx context.Context, addr string, traceHandler http.Handler, pages Pages, logger *slog.Logger) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry}))
	if traceHandler != nil {
		mux.Handle(traces.RecentPath, traceHandler)
	}
	if pages != nil {
		mux.Handle("/", pages)
	}
	// Requests end with ctx: a page's event stream would otherwise hold
	// the shutdown up.
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
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
