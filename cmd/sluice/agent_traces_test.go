package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sensors/traces/tracestest"
	"github.com/sluice-io/sluice/state"
)

// TestDockerAgentReceivesSpansOverTheBridge runs sineload in a container
// next to an agent whose trace receivers listen on the Docker bridge, on
// ports of their own (--traces-ports): the container learns the endpoint
// from the environment the agent gives it, its OpenTelemetry SDK sends a
// server span per request across the bridge, `sluice traces` shows the
// container's latency and its traces, and the agent forwards the spans to
// the collector --traces-forward names.
func TestDockerAgentReceivesSpansOverTheBridge(t *testing.T) {
	n := newDockerNode(t)
	metrics := freeTCPAddr(t)
	upstream, upstreamAddr := startUpstreamCollector(t)
	n.startAgent(func(ao *agentOptions) {
		ao.traces = true
		ao.metricsAddr = metrics
		ao.tracesPorts = map[string]int{
			traces.ReceiverOTLPGRPC: 0, traces.ReceiverOTLPHTTP: 0, traces.ReceiverJaegerCompact: 0, traces.ReceiverJaegerBinary: 0,
		}
		ao.tracesForward = upstreamAddr
	})
	n.apply(shieldSpec("victim", docker.Sineload, state.LatencyCritical))
	ctr := n.waitPhase("victim", state.Ready).Containers[0]

	endpoint := n.containerEnv(ctr.RuntimeID)[traces.OTLPEndpointEnv]
	gateway, err := n.rt.BridgeGateway(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if host := endpointHost(t, endpoint); host != gateway || host.IsLoopback() || strings.HasSuffix(endpoint, ":4317") {
		t.Fatalf("%s=%q, want the bridge gateway %s on a free port", traces.OTLPEndpointEnv, endpoint, gateway)
	}

	var got appTraces
	waitFor(t, "the victim's spans in `sluice traces`", func() bool {
		out, err := runCLI(n.endpoint, "traces", "victim", "--agent", "http://"+metrics, "-o", "json")
		got = appTraces{}
		if err != nil || json.Unmarshal([]byte(out), &got) != nil || len(got.Containers) != 1 {
			return false
		}
		latency := got.Containers[0].Latency
		return latency != nil && latency.Count > 0 && len(got.Recent) > 0
	})
	latency := got.Containers[0].Latency
	t.Logf("victim/sineload over one tick: %+v; %d recent traces", *latency, len(got.Recent))
	// Each request burns a millisecond of CPU, so none is shorter; an
	// idle core serves it in little more.
	if latency.P50Ms < 0.9 || latency.P50Ms > latency.P99Ms || latency.Errors != 0 {
		t.Errorf("latency %+v: want a p50 of at least the 1 ms a request takes, no errors", *latency)
	}
	recent := got.Recent[0]
	if recent.App != "victim" || recent.RootContainer != "victim/sineload" || recent.DurationMs < 0.9 {
		t.Errorf("recent trace %+v: want a victim/sineload request of at least 1 ms", recent)
	}
	waitFor(t, "the spans forwarded to the upstream collector", func() bool { return spansIn(t, upstream) > 0 })
}

// startUpstreamCollector runs an OTLP gRPC receiver on loopback, standing
// for the collector or Jaeger an agent forwards to, and returns the
// registry that counts what it received, and its address.
func startUpstreamCollector(t *testing.T) (*prometheus.Registry, string) {
	t.Helper()
	registry := prometheus.NewRegistry()
	upstream := tracestest.Start(t, traces.Config{
		Receivers: traces.Receivers{OTLPGRPC: "127.0.0.1:0"},
		Resolver:  func(string) (traces.Binding, bool) { return traces.Binding{}, false },
		Registry:  registry,
	})
	return registry, upstream.Addrs().OTLPGRPC
}

// spansIn is how many spans the collector counting into registry received.
func spansIn(t *testing.T, registry *prometheus.Registry) float64 {
	t.Helper()
	families, err := registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() == spansReceivedMetric {
			return counterTotal(family)
		}
	}
	return 0
}

// containerEnv is the environment the runtime gave a container.
func (n *dockerNode) containerEnv(runtimeID string) map[string]string {
	n.t.Helper()
	res, found := n.inspect(runtimeID)
	if !found || res.Container.Config == nil {
		n.t.Fatalf("container %s: not found", runtimeID)
	}
	env := map[string]string{}
	for _, kv := range res.Container.Config.Env {
		name, value, _ := strings.Cut(kv, "=")
		env[name] = value
	}
	return env
}

// endpointHost is the address an endpoint URL names.
func endpointHost(t testing.TB, endpoint string) netip.Addr {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	return addr
}

// A node with a Docker engine and a bad trace receiver port is
// misconfigured: the agent refuses to start and names the port, even with
// --runtime auto, which falls back to the simulator only without an engine.
func TestDockerAgentRefusesABadTracePort(t *testing.T) {
	n := newDockerNode(t)
	ao := n.agentOptions()
	ao.runtime, ao.traces, ao.tracesPorts = "auto", true, map[string]int{"otlp-grpc": 14317}
	logs := &testenv.Buffer{}
	opts := &globalOptions{endpoints: []string{n.endpoint}, logLevel: "info", stdout: logs, stderr: logs}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := runAgent(ctx, opts, ao, false)
	if err == nil || !strings.Contains(err.Error(), "otlp-grpc=14317: unknown receiver") {
		t.Fatalf("runAgent = %v, want the bad receiver named\n%s", err, logs.String())
	}
	if strings.Contains(logs.String(), "simulated node") {
		t.Errorf("the agent fell back to a simulated node:\n%s", logs.String())
	}
}
