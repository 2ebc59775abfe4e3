package traces

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/state"
)

// OTLPEndpointEnv is the variable the OpenTelemetry SDKs read for where to
// send spans: a node gives it to every container it creates.
const OTLPEndpointEnv = "OTEL_EXPORTER_OTLP_ENDPOINT"

// Intake is a node's trace intake: a Collector whose services are the
// containers of the node's observations. Spans name their container by its
// GUID, which the intake learns from each observation it completes.
type Intake struct {
	collector *Collector
	directory *Directory
}

// IntakeConfig is where an intake listens and where it forwards.
type IntakeConfig struct {
	// Host is the address the receivers bind. ListenOnBridge fills an
	// empty one with the bridge's gateway, which the containers reach;
	// NewIntake with 127.0.0.1.
	Host string
	// Ports overrides a receiver's standard port, by the receiver's name
	// (otlp_grpc, otlp_http, jaeger_compact, jaeger_binary).
	Ports map[string]int
	// Forward, when set, sends every received span on to an OTLP endpoint.
	Forward  *ForwardConfig
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

// receivers are the addresses of the receivers: the standard ports of
// Host, but for those Ports changes.
func (cfg IntakeConfig) receivers() (Receivers, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	r := DefaultReceivers(cfg.Host)
	addresses := map[string]*string{
		ReceiverOTLPGRPC: &r.OTLPGRPC, ReceiverOTLPHTTP: &r.OTLPHTTP,
		ReceiverJaegerCompact: &r.JaegerCompact, ReceiverJaegerBinary: &r.JaegerBinary,
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Ports)) {
		address, known := addresses[name]
		port := cfg.Ports[name]
		switch {
		case !known:
			return Receivers{}, fmt.Errorf("trace receiver port %s=%d: unknown receiver (want one of %s)",
				name, port, strings.Join(slices.Sorted(maps.Keys(addresses)), ", "))
		case port < 0 || port > 65535:
			return Receivers{}, fmt.Errorf("trace receiver port %s=%d: want 0 to 65535 (0: any free port)", name, port)
		}
		*address = net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	}
	return r, nil
}

// NewIntake listens as cfg says. It binds at once, so a port in use fails
// here rather than in a goroutine.
func NewIntake(cfg IntakeConfig) (*Intake, error) {
	receivers, err := cfg.receivers()
	if err != nil {
		return nil, err
	}
	directory := NewDirectory()
	collector, err := New(Config{
		Receivers: receivers, Resolver: directory.Resolve, Forward: cfg.Forward,
		Registry: cfg.Registry, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	if err := collector.Listen(); err != nil {
		return nil, err
	}
	return &Intake{collector: collector, directory: directory}, nil
}

// Env is what containers need to send their spans here.
func (in *Intake) Env() map[string]string {
	return map[string]string{OTLPEndpointEnv: "http://" + in.collector.Addrs().OTLPGRPC}
}

// Addrs are the addresses the receivers are bound to.
func (in *Intake) Addrs() Receivers { return in.collector.Addrs() }

// Run serves the receivers until ctx ends, then flushes what they took in.
func (in *Intake) Run(ctx context.Context) error { return in.collector.Start(ctx) }

// Apply adds the latency of the spans received since the last tick to obs,
// and binds the observed containers' GUIDs for the spans still to come.
func (in *Intake) Apply(obs *state.Observation) {
	containers := make([]state.Container, len(obs.Containers))
	for i, c := range obs.Containers {
		containers[i] = state.Container{ID: c.ID, App: c.App, Name: c.Name, GUID: c.GUID}
	}
	in.directory.Update(containers)
	in.collector.Snapshot().Apply(obs)
}

// RecentPath is where a node serves recent traces (see ServeHTTP).
const RecentPath = "/traces"

// ServeHTTP answers GET /traces?app=APP&limit=N with the app's latest
// finished traces as JSON.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	json.NewEncoder(w).Encode(in.Recent(app, limit))
}

// Recent lists up to limit of app's latest finished traces, newest first.
func (in *Intake) Recent(app string, limit int) []TraceSummary {
	return in.collector.RecentTraces(app, limit)
}

// Bridge is a container runtime whose containers reach the host at a
// gateway address and can be given node-wide env (actuators/docker).
type Bridge interface {
	BridgeGateway(ctx context.Context) (netip.Addr, error)
	SetEnv(env map[string]string)
}

// ListenOnBridge starts an intake, on the bridge's gateway unless cfg
// names a host, and tells the containers the runtime creates from now on
// where to send their spans.
func ListenOnBridge(ctx context.Context, bridge Bridge, cfg IntakeConfig) (*Intake, error) {
	if cfg.Host == "" {
		gateway, err := bridge.BridgeGateway(ctx)
		if err != nil {
			return nil, fmt.Errorf("trace receivers: %w", err)
		}
		cfg.Host = gateway.String()
	}
	intake, err := NewIntake(cfg)
	if err != nil {
		return nil, fmt.Errorf("trace receivers on %s: %w", cfg.Host, err)
	}
	bridge.SetEnv(intake.Env())
	return intake, nil
}
