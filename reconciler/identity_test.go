package reconciler

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func TestSpecHashIsStableAndSensitive(t *testing.T) {
	quota := 0.5
	spec := state.ContainerSpec{
		Name: "api", Image: "nginx", Class: state.LatencyCritical,
		Env:       map[string]string{"B": "2", "A": "1", "C": "3"},
		Resources: state.Resources{CPUQuotaCores: &quota},
	}
	same := spec
	same.Env = map[string]string{"C": "3", "A": "1", "B": "2"}
	if SpecHash(spec) != SpecHash(same) {
		t.Fatal("equal specs with maps built in another order hash differently")
	}
	if got := SpecHash(spec); !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
		t.Fatalf("hash %q is not 16 hex digits", got)
	}
	changed := spec
	changed.Image = "nginx:2"
	if SpecHash(spec) == SpecHash(changed) {
		t.Fatal("a changed image kept the hash")
	}
	changed = spec
	changed.Resources.MemoryBytes = new(int64(1 << 30))
	if SpecHash(spec) == SpecHash(changed) {
		t.Fatal("a changed memory limit kept the hash")
	}
}

// What the reconciler applies to a running container is no part of its
// identity: changing it must not recreate the container.
func TestSpecHashLeavesOutInPlaceSettings(t *testing.T) {
	shares := uint64(512)
	spec := state.ContainerSpec{
		Name: "api", Image: "nginx", Class: state.LatencyCritical, CPUSet: "0",
		Resources: state.Resources{CPUQuotaCores: new(0.5), CPUShares: &shares},
	}
	changed := spec
	otherShares := uint64(64)
	changed.CPUSet = "1"
	changed.Resources = state.Resources{CPUShares: &otherShares, NetMbit: new(10.0)}
	changed.SLO = &state.SLOSpec{LatencyP99Ms: 20}
	if SpecHash(spec) != SpecHash(changed) {
		t.Fatal("new quota, shares, cpuset, bandwidth and SLO values changed the hash")
	}
	changed.CPUSet = ""
	if SpecHash(spec) == SpecHash(changed) {
		t.Fatal("removing the cpuset kept the hash: the running container would stay pinned")
	}
	changed = spec
	changed.Resources.CPUShares = nil
	if SpecHash(spec) == SpecHash(changed) {
		t.Fatal("removing the shares kept the hash: the running container would keep them")
	}
}

func TestNewGUID(t *testing.T) {
	cases := map[string]string{
		"nginx":                                  "nginx",
		"sluice/sineload:1.2":                    "sineload",
		"registry:5000/team/Sine_Load@sha256:ab": "sine_load",
		"":                                       "container",
	}
	for image, prefix := range cases {
		guid, err := NewGUID(image, bytes.NewReader([]byte{0xde, 0xad, 0xbe, 0xef}))
		if err != nil {
			t.Fatalf("NewGUID(%q): %v", image, err)
		}
		if want := prefix + "-deadbeef"; guid != want {
			t.Errorf("NewGUID(%q) = %q, want %q", image, guid, want)
		}
	}
	first, _ := NewGUID("x", rand.NewChaCha8([32]byte{7}))
	second, _ := NewGUID("x", rand.NewChaCha8([32]byte{7}))
	if first != second {
		t.Errorf("one seed gave %q and %q", first, second)
	}
	if _, err := NewGUID("x", bytes.NewReader(nil)); err == nil {
		t.Error("an exhausted source gave a GUID")
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func TestCoreFallsBackToNumberedGUIDs(t *testing.T) {
	core := NewCore("n1", WithRandom(failingReader{}))
	a, b := core.newGUID("nginx"), core.newGUID("nginx")
	if a == b || a != "nginx-n0000001" {
		t.Fatalf("fallback GUIDs %q and %q", a, b)
	}
}

func TestStartupOrderPutsParentsLast(t *testing.T) {
	specs := []state.ContainerSpec{
		{Name: "frontend"},
		{Name: "api", Parent: "frontend"},
		{Name: "db", Parent: "api"},
		{Name: "cache", Parent: "api"},
		{Name: "loner"},
	}
	var got []string
	for _, spec := range startupOrder(specs) {
		got = append(got, spec.Name)
	}
	want := []string{"db", "cache", "loner", "api", "frontend"}
	if !equalStrings(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	cycle := []state.ContainerSpec{{Name: "a", Parent: "b"}, {Name: "b", Parent: "a"}, {Name: "c"}}
	got = nil
	for _, spec := range startupOrder(cycle) {
		got = append(got, spec.Name)
	}
	if want := []string{"c", "a", "b"}; !equalStrings(got, want) {
		t.Fatalf("cycle order %v, want %v", got, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDesiredResources(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	u := func(v uint64) *uint64 { return &v }
	spec := state.ContainerSpec{CPUSet: "0-1", Resources: state.Resources{CPUQuotaCores: f(1), CPUShares: u(512), NetMbit: f(100)}}

	noDecision := desiredCPU(spec, nil)
	if *noDecision.QuotaCores != 1 || *noDecision.Shares != 512 || noDecision.CPUSet != "0-1" {
		t.Errorf("without a decision: %s", noDecision)
	}
	lifted := desiredCPU(spec, &state.ContainerDecision{})
	if lifted.QuotaCores != nil || *lifted.Shares != 512 || lifted.CPUSet != "0-1" {
		t.Errorf("a decision entry with no quota must lift it and keep spec shares: %s", lifted)
	}
	capped := desiredCPU(spec, &state.ContainerDecision{CPUQuotaCores: f(0.2), CPUShares: u(2)})
	if *capped.QuotaCores != 0.2 || *capped.Shares != 2 {
		t.Errorf("decision values not taken: %s", capped)
	}
	if got := desiredBandwidth(spec, &state.ContainerDecision{}); *got != 100 {
		t.Errorf("bandwidth without decision value = %v, want the spec's 100", *got)
	}
	if got := desiredBandwidth(spec, &state.ContainerDecision{NetMbit: f(5)}); *got != 5 {
		t.Errorf("bandwidth = %v, want the decision's 5", *got)
	}

	if !cpuSatisfied(capped, state.CPUResources{QuotaCores: f(0.20004), Shares: u(2), CPUSet: "0,1"}) {
		t.Error("float noise and an equivalent cpuset spelling count as a difference")
	}
	if cpuSatisfied(capped, state.CPUResources{QuotaCores: f(0.21), Shares: u(2), CPUSet: "0-1"}) {
		t.Error("a quota 0.01 cores off counts as satisfied")
	}
	if cpuSatisfied(capped, state.CPUResources{Shares: u(2), CPUSet: "0-1"}) {
		t.Error("no quota satisfies a desired quota")
	}
	if !cpuSatisfied(state.CPUResources{}, state.CPUResources{Shares: u(7), CPUSet: "3"}) {
		t.Error("unset shares and cpuset must leave the actual ones alone")
	}
	if !bandwidthEqual(f(100), f(100.05)) || bandwidthEqual(f(100), f(101)) || bandwidthEqual(nil, f(1)) {
		t.Error("bandwidth tolerance is off")
	}
}
