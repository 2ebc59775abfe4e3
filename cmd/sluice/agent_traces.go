package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// traceIntake receives the spans of the node's containers and turns them
// into the latency of each observation. Spans name their container by its
// GUID, which the directory learns from the observations themselves.
type traceIntake struct {
	collector *traces.Collector
	directory *traces.Directory
	host      string
}

// otlpEndpointEnv is the variable the OpenTelemetry SDKs read for where to
// send spans; every container the agent creates gets it.
const otlpEndpointEnv = "OTEL_EXPORTER_OTLP_ENDPOINT"

func newTraceIntake(host string, registry prometheus.Registerer, logger *slog.Logger) (*traceIntake, error) {
	directory := traces.NewDirectory()
	collector, err := traces.New(traces.Config{
		Receivers: traces.DefaultReceivers(host), Resolver: directory.Resolve,
		Registry: registry, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	// Bind now, so a port in use fails the start instead of a goroutine.
	if err := collector.Listen(); err != nil {
		return nil, err
	}
	return &traceIntake{collector: collector, directory: directory, host: host}, nil
}

// Endpoint is the OTLP gRPC address containers send to.
func (t *traceIntake) Endpoint() string {
	return "http://" + t.collector.Addrs().OTLPGRPC
}

// Run serves the receivers until ctx ends, then flushes what they took in.
func (t *traceIntake) Run(ctx context.Context) error { return t.collector.Start(ctx) }

// Apply adds the latency of the spans received since the last tick to obs,
// and binds the observed containers' GUIDs for the spans still to come.
func (t *traceIntake) Apply(obs *state.Observation) {
	containers := make([]reconciler.Container, len(obs.Containers))
	for i, c := range obs.Containers {
		containers[i] = reconciler.Container{ID: c.ID, App: c.App, Name: c.Name, GUID: c.GUID}
	}
	t.directory.Update(containers)
	t.collector.Snapshot().Apply(obs)
}

// tracesPath serves recent traces of an app for `sluice traces`.
const tracesPath = "/traces"

// ServeHTTP answers GET /traces?app=APP&limit=N with the app's latest
// finished traces as JSON.
func (t *traceIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	app := r.URL.Query().Get("app")
	if app == "" {
		http.Error(w, "the app query parameter is required", http.StatusBadRequest)
		return
	}
	limit := 20
	if raw := r.URL.Query().Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			http.Error(w, "limit must be a positive number", http.StatusBadRequest)
			return
		}
		limit = n
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(t.collector.RecentTraces(app, limit))
}
