package traces

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/sluice-io/sluice/state"
)

// fakeBridge is a runtime whose bridge gateway is loopback.
type fakeBridge struct{ env map[string]string }

func (b *fakeBridge) BridgeGateway(context.Context) (netip.Addr, error) {
	return netip.MustParseAddr("127.0.0.1"), nil
}
func (b *fakeBridge) SetEnv(env map[string]string) { b.env = env }

// runIntakeOnBridge starts an intake on bridge and runs it until the test
// ends.
func runIntakeOnBridge(t *testing.T, bridge *fakeBridge, cfg IntakeConfig) *Intake {
	t.Helper()
	intake, err := ListenOnBridge(context.Background(), bridge, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- intake.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return intake
}

// TestIntakeTurnsAContainersSpansIntoItsLatency goes the way a node does:
// the runtime learns the endpoint, a container (named by its GUID) sends
// spans there with the OpenTelemetry SDK, and the next observation carries
// their latency, bound to the container the observation names.
func TestIntakeTurnsAContainersSpansIntoItsLatency(t *testing.T) {
	bridge := &fakeBridge{}
	intake := runIntakeOnBridge(t, bridge, IntakeConfig{})
	endpoint := bridge.env[OTLPEndpointEnv]
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Fatalf("containers would be told %s=%q", OTLPEndpointEnv, endpoint)
	}

	// The first observation names the container, so its spans bind.
	obs := state.Observation{Containers: []state.ContainerObservation{{ID: "web/front", App: "web", Name: "front", GUID: "frontend-a1b2"}}}
	intake.Apply(&obs)
	exporter, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(strings.TrimPrefix(endpoint, "http://")), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	emitWithSDK(t, exporter)

	next := state.Observation{Containers: obs.Containers}
	intake.Apply(&next)
	got := next.Containers[0].Latency
	if got == nil || got.Count != 1 || got.Errors != 1 || got.P99Ms < 11.9 || got.P99Ms > 12.1 {
		t.Fatalf("latency of web/front = %+v, want the one failed 12 ms server span", got)
	}

	rec := httptest.NewRecorder()
	intake.ServeHTTP(rec, httptest.NewRequest("GET", RecentPath+"?app=web&limit=5", nil))
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", RecentPath, rec.Code, rec.Body)
	}
	var recent []TraceSummary
	if err := json.Unmarshal(rec.Body.Bytes(), &recent); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	intake.ServeHTTP(rec, httptest.NewRequest("GET", RecentPath+"?limit=x", nil))
	if rec.Code != 400 {
		t.Errorf("a request without an app got %d, want 400", rec.Code)
	}
}

// An intake's receivers take their standard ports unless told otherwise,
// and a port for an unknown receiver or out of range is refused by name.
func TestIntakeConfigPorts(t *testing.T) {
	r, err := IntakeConfig{Ports: map[string]int{ReceiverJaegerBinary: 16832}}.receivers()
	want := Receivers{OTLPGRPC: "127.0.0.1:4317", OTLPHTTP: "127.0.0.1:4318", JaegerCompact: "127.0.0.1:6831", JaegerBinary: "127.0.0.1:16832"}
	if err != nil || r != want {
		t.Errorf("receivers = %+v, %v; want %+v", r, err, want)
	}
	for want, ports := range map[string]map[string]int{
		"otlp-grpc=4317: unknown receiver (want one of jaeger_binary, jaeger_compact, otlp_grpc, otlp_http)": {"otlp-grpc": 4317},
		"otlp_http=70000: want 0 to 65535": {ReceiverOTLPHTTP: 70000},
	} {
		if _, err := (IntakeConfig{Ports: ports}).receivers(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("receivers(%v) = %v, want an error saying %q", ports, err, want)
		}
	}
}

// Port 0 binds any free port, and the containers are told the one bound.
func TestIntakeOnFreePortsTellsContainersWhere(t *testing.T) {
	bridge := &fakeBridge{}
	intake := runIntakeOnBridge(t, bridge, IntakeConfig{Ports: map[string]int{
		ReceiverOTLPGRPC: 0, ReceiverOTLPHTTP: 0, ReceiverJaegerCompact: 0, ReceiverJaegerBinary: 0,
	}})
	endpoint := bridge.env[OTLPEndpointEnv]
	if endpoint != "http://"+intake.collector.Addrs().OTLPGRPC || strings.HasSuffix(endpoint, ":4317") {
		t.Errorf("containers would be told %s=%q; the receiver is on %s", OTLPEndpointEnv, endpoint, intake.collector.Addrs().OTLPGRPC)
	}
}
