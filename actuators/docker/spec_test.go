package docker

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"

	"github.com/sluice-io/sluice/state"
)

func ptr[T any](v T) *T { return &v }

var testSettings = createSettings{node: "n1", store: "0b6f3c1e-7d2a-4f7e-9a51-3c2d1e0f9a8b", publishAddr: netip.MustParseAddr("127.0.0.1"), stopTimeout: 3}

func TestCreateOptionsCarrySpecLabelsEnvAndResources(t *testing.T) {
	spec := state.ContainerSpec{
		Name:   "server",
		Image:  "sluice/sineload:dev",
		Cmd:    []string{"--base", "0.5"},
		Env:    map[string]string{"B": "2", "A": "1", EnvGUID: "spoofed"},
		Ports:  []state.PortSpec{{Container: 8080, Host: 18080}, {Container: 9000, Protocol: "UDP"}},
		Class:  state.LatencyCritical,
		CPUSet: "1",
		Resources: state.Resources{
			CPUShares:     ptr[uint64](2048),
			CPUQuotaCores: ptr(0.25),
			MemoryBytes:   ptr[int64](64 << 20),
		},
	}
	opts, err := createOptions(testSettings, "web", spec, "sineload-3f9a2c", "h123")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Name != "sluice-web-server-3f9a2c" {
		t.Errorf("name = %q", opts.Name)
	}
	cfg, host := opts.Config, opts.HostConfig
	if cfg.Image != spec.Image || !slices.Equal(cfg.Cmd, spec.Cmd) {
		t.Errorf("image %q cmd %q", cfg.Image, cfg.Cmd)
	}
	wantEnv := []string{"A=1", "B=2", "SLUICE_APP=web", "SLUICE_CONTAINER=server", "SLUICE_GUID=sineload-3f9a2c"}
	if !slices.Equal(cfg.Env, wantEnv) {
		t.Errorf("env = %q, want %q", cfg.Env, wantEnv)
	}
	wantLabels := map[string]string{
		LabelManaged: "true", LabelNode: "n1", LabelApp: "web", LabelContainer: "server",
		LabelGUID: "sineload-3f9a2c", LabelSpecHash: "h123", LabelClass: "latency-critical",
		LabelStore: testSettings.store,
	}
	for k, v := range wantLabels {
		if cfg.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cfg.Labels[k], v)
		}
	}
	if len(cfg.Labels) != len(wantLabels) {
		t.Errorf("labels = %v, want exactly %v", cfg.Labels, wantLabels)
	}
	r := host.Resources
	if r.CPUShares != 2048 || r.CPUPeriod != 100_000 || r.CPUQuota != 25_000 || r.Memory != 64<<20 || r.CpusetCpus != "1" {
		t.Errorf("resources = shares %d period %d quota %d memory %d cpuset %q", r.CPUShares, r.CPUPeriod, r.CPUQuota, r.Memory, r.CpusetCpus)
	}
	tcp := network.MustParsePort("8080/tcp")
	udp := network.MustParsePort("9000/udp")
	if _, ok := cfg.ExposedPorts[tcp]; !ok {
		t.Errorf("8080/tcp not exposed: %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.ExposedPorts[udp]; !ok {
		t.Errorf("9000/udp not exposed: %v", cfg.ExposedPorts)
	}
	b := host.PortBindings[tcp]
	if len(b) != 1 || b[0].HostPort != "18080" || b[0].HostIP != testSettings.publishAddr {
		t.Errorf("8080/tcp bindings = %v, want 127.0.0.1:18080", b)
	}
	if _, ok := host.PortBindings[udp]; ok {
		t.Errorf("9000/udp has no host port but was published: %v", host.PortBindings)
	}
	if cfg.StopTimeout == nil || *cfg.StopTimeout != 3 {
		t.Errorf("stop timeout = %v", cfg.StopTimeout)
	}
	if host.LogConfig.Config["max-size"] == "" {
		t.Errorf("logs are unbounded: %+v", host.LogConfig)
	}
}

func TestCreateOptionsLeaveUnsetResourcesToTheEngine(t *testing.T) {
	opts, err := createOptions(testSettings, "batch", state.ContainerSpec{Name: "hog", Image: "x", Class: state.BestEffort}, "g-1", "h")
	if err != nil {
		t.Fatal(err)
	}
	r := opts.HostConfig.Resources
	if r.CPUShares != 0 || r.CPUQuota != 0 || r.CPUPeriod != 0 || r.Memory != 0 || r.CpusetCpus != "" {
		t.Errorf("unset resources were set: %+v", r)
	}
	if opts.Config.ExposedPorts != nil || opts.HostConfig.PortBindings != nil {
		t.Errorf("no ports asked for, got %v %v", opts.Config.ExposedPorts, opts.HostConfig.PortBindings)
	}
}

func TestCreateOptionsRejectBadPorts(t *testing.T) {
	for _, p := range []state.PortSpec{{Container: 0}, {Container: 70000}, {Container: 80, Host: 70000}, {Container: 80, Protocol: "icmp"}} {
		spec := state.ContainerSpec{Name: "c", Image: "x", Class: state.BestEffort, Ports: []state.PortSpec{p}}
		_, err := createOptions(testSettings, "a", spec, "g-1", "h")
		if err == nil || !strings.Contains(err.Error(), "ports[0]") {
			t.Errorf("port %+v: err = %v, want one naming ports[0]", p, err)
		}
	}
}

func TestQuotaMicros(t *testing.T) {
	cases := map[float64]int64{1: 100_000, 0.5: 50_000, 2.5: 250_000, 0.001: 1000, 0.0001: 1000}
	for cores, want := range cases {
		if got := quotaMicros(cores); got != want {
			t.Errorf("quotaMicros(%g) = %d, want %d", cores, got, want)
		}
	}
}

func TestGUIDSuffix(t *testing.T) {
	cases := map[string]string{
		"sineload-3f9a2c":           "3f9a2c",
		"sluice/sineload:dev-AB12":  "ab12",
		"img-0123456789abcdef":      "456789abcdef",
		"plain":                     "plain",
		"trailing-":                 "", // hashed; checked below
		"sluice/cpuhog:dev-9z9_x.y": "y",
	}
	for guid, want := range cases {
		got := guidSuffix(guid)
		if want == "" {
			if len(got) != 8 {
				t.Errorf("guidSuffix(%q) = %q, want an 8-character hash", guid, got)
			}
			continue
		}
		if got != want {
			t.Errorf("guidSuffix(%q) = %q, want %q", guid, got, want)
		}
	}
}

// List reports the store a container's labels name, and none for a
// container made before stores had an identity.
func TestFromLabelsReadsTheStore(t *testing.T) {
	labels := map[string]string{LabelApp: "web", LabelContainer: "server", LabelStore: testSettings.store}
	info, ok := fromLabels(labels)
	if !ok || info.store != testSettings.store {
		t.Errorf("fromLabels(%v) = %+v, %v; want store %s", labels, info, ok, testSettings.store)
	}
	delete(labels, LabelStore)
	if info, _ := fromLabels(labels); info.store != "" {
		t.Errorf("fromLabels without %s = store %q, want none", LabelStore, info.store)
	}
}

func TestContainerEventKeepsSluiceLifecycleEvents(t *testing.T) {
	labels := map[string]string{LabelApp: "web", LabelContainer: "server", LabelGUID: "g", "exitCode": "137"}
	die := events.Message{Type: events.ContainerEventType, Action: events.ActionDie, Actor: events.Actor{ID: "abc", Attributes: labels}}
	ev, ok := containerEvent(die)
	if !ok || ev.ContainerID != "web/server" || ev.Action != "die" || ev.ExitCode != 137 {
		t.Errorf("die event = %+v, %v", ev, ok)
	}
	ignored := []events.Message{
		{Type: events.ContainerEventType, Action: events.ActionCreate, Actor: events.Actor{Attributes: labels}},
		{Type: events.ImageEventType, Action: events.ActionDie, Actor: events.Actor{Attributes: labels}},
		{Type: events.ContainerEventType, Action: events.ActionDie, Actor: events.Actor{Attributes: map[string]string{"exitCode": "1"}}},
	}
	for _, m := range ignored {
		if ev, ok := containerEvent(m); ok {
			t.Errorf("%s %s without sluice labels or of no interest passed as %+v", m.Type, m.Action, ev)
		}
	}
}

func TestSinceAfter(t *testing.T) {
	if got := sinceAfter(1_700_000_000_999_999_999); got != "1700000001.000000000" {
		t.Errorf("sinceAfter = %q", got)
	}
	if got := sinceAfter(1_700_000_000_000_000_041); got != "1700000000.000000042" {
		t.Errorf("sinceAfter = %q", got)
	}
}

// The node's env (the agent's trace endpoint) is a default: a spec may
// override it, and nothing overrides sluice's own variables.
func TestContainerEnvPrecedence(t *testing.T) {
	nodeEnv := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://172.17.0.1:4317", "Z": "node", EnvApp: "node"}
	spec := state.ContainerSpec{Name: "server", Env: map[string]string{"Z": "spec", EnvGUID: "spec"}}
	got := containerEnv(nodeEnv, "web", spec, "sineload-1")
	want := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://172.17.0.1:4317", "SLUICE_APP=web",
		"SLUICE_CONTAINER=server", "SLUICE_GUID=sineload-1", "Z=spec"}
	if !slices.Equal(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
}

// A container with a demand is told it, as the JSON of its spec's demand.
func TestContainerEnvCarriesTheDemand(t *testing.T) {
	spec := state.ContainerSpec{Name: "server", Demand: &state.DemandSpec{Kind: "square", Base: 0.5, Amplitude: 0.2, PeriodSeconds: 8}}
	got := containerEnv(nil, "web", spec, "sineload-1")
	want := `SLUICE_DEMAND={"kind":"square","base":0.5,"amplitude":0.2,"period_seconds":8}`
	if !slices.Contains(got, want) {
		t.Errorf("env = %q, want it to hold %s", got, want)
	}
	spec.Demand = nil
	for _, kv := range containerEnv(nil, "web", spec, "sineload-1") {
		if strings.HasPrefix(kv, EnvDemand+"=") {
			t.Errorf("a container without a demand got %s", kv)
		}
	}
}
