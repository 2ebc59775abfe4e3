package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// TestDockerAgentReceivesSpansOverTheBridge runs sineload in a container
// next to an agent whose trace receivers listen on the Docker bridge: the
// container learns the endpoint from the environment the agent gives it,
// its OpenTelemetry SDK sends a server span per request across the bridge,
// and `sluice traces` shows the container's latency and its traces.
func TestDockerAgentReceivesSpansOverTheBridge(t *testing.T) {
	n := newDockerNode(t)
	metrics := freeTCPAddr(t)
	n.startAgent(func(ao *agentOptions) {
		ao.traces = true
		ao.metricsAddr = metrics
	})
	n.apply(shieldSpec("victim", docker.Sineload, state.LatencyCritical))
	ctr := n.waitPhase("victim", state.Ready).Containers[0]

	endpoint := n.containerEnv(ctr.RuntimeID)[traces.OTLPEndpointEnv]
	gateway, err := n.rt.BridgeGateway(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if host := endpointHost(t, endpoint); host != gateway || host.IsLoopback() {
		t.Fatalf("%s=%q, want the bridge gateway %s", traces.OTLPEndpointEnv, endpoint, gateway)
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
