package scenario

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

const shieldSine = "../../examples/experiments/shield-sine.yaml"

func TestLoadShieldSine(t *testing.T) {
	s, err := Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "shield-sine" || s.TickSeconds != 0.25 || s.Node.CPUs != 2 || s.PolicyDir != "policies" {
		t.Errorf("header = %q tick %g cpus %d policies %q", s.Name, s.TickSeconds, s.Node.CPUs, s.PolicyDir)
	}
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name+":"+string(p.Control))
	}
	want := []string{"alone:none", "contended:none", "shielded:policy", "static-shares:static-shares", "static-split:static-split"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("phases = %v, want %v", names, want)
	}
	victim, ok := s.Container(s.Victim)
	if !ok || victim.Demand == nil || victim.Demand.Kind != "sine" || victim.Demand.Base != 0.5 || victim.Demand.Amplitude != 0.3 || victim.Demand.PeriodSeconds != 20 {
		t.Errorf("victim = %+v, demand %+v", victim, victim.Demand)
	}
	if victim.Image != "sluice/sineload:dev" {
		t.Errorf("victim image = %q", victim.Image)
	}
	if got := s.SharedCPUs(); !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("SharedCPUs = %v, want [0]", got)
	}
	if _, ok := s.Phases[0].HogStart(*s); ok {
		t.Errorf("alone: the hog should not run")
	}
	if start, ok := s.Phases[1].HogStart(*s); !ok || start != 5 {
		t.Errorf("contended: hog start = %g, %v; want 5, true", start, ok)
	}
}

// shield-slo is shield-sine with an SLO on the victim: the same phases, the
// same victim demand, and the SLO the report measures against.
func TestLoadShieldSLO(t *testing.T) {
	sine, err := Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("../../examples/experiments/shield-slo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "shield-slo" || s.TickSeconds != sine.TickSeconds || s.Node != sine.Node {
		t.Errorf("header = %q tick %g node %+v", s.Name, s.TickSeconds, s.Node)
	}
	for _, name := range []string{"alone", "contended", "shielded"} {
		if !slices.ContainsFunc(s.Phases, func(p Phase) bool {
			i := slices.IndexFunc(sine.Phases, func(q Phase) bool { return q.Name == name })
			return p.Name == name && i >= 0 && reflect.DeepEqual(p, sine.Phases[i])
		}) {
			t.Errorf("phase %s differs from shield-sine's or is missing", name)
		}
	}
	slo := s.VictimSLO()
	if slo == nil || slo.LatencyP99Ms != 20 {
		t.Fatalf("victim SLO = %+v, want p99 ≤ 20 ms", slo)
	}
	slo.LatencyP99Ms = 1
	if again := s.VictimSLO(); again.LatencyP99Ms != 20 {
		t.Error("VictimSLO hands out the scenario's own SLO, not a copy")
	}
	victim, _ := s.Container(s.Victim)
	sineVictim, _ := sine.Container(sine.Victim)
	want := *sineVictim.Demand
	want.RequestCPUMs = 1
	if victim.Demand == nil || !reflect.DeepEqual(*victim.Demand, want) {
		t.Errorf("victim demand = %+v, want shield-sine's in 1 ms requests", victim.Demand)
	}
	if sine.VictimSLO() != nil {
		t.Errorf("shield-sine's victim has an SLO: %+v", sine.VictimSLO())
	}
}

func TestPhaseAppsMergeStaticResources(t *testing.T) {
	s, err := Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	alone := s.PhaseApps(0)
	if len(alone) != 1 || alone[0].Spec.Name != "victim" {
		t.Fatalf("alone runs %+v, want the victim only", alone)
	}
	split := s.PhaseApps(4)
	if len(split) != 2 || split[0].Spec.Name != "victim" || split[1].Spec.Name != "hog" || split[1].StartSeconds != 5 {
		t.Fatalf("static-split apps = %+v", split)
	}
	quota := split[1].Spec.Containers[0].Resources.CPUQuotaCores
	if quota == nil || *quota != 0.2 {
		t.Errorf("hog quota in static-split = %v, want 0.2", quota)
	}
	// The merge works on a copy: the scenario's own spec keeps no quota.
	if hog, _ := s.Container(s.Hog); hog.Resources.CPUQuotaCores != nil {
		t.Errorf("PhaseApps changed the scenario's hog spec: %+v", hog.Resources)
	}
	shares := s.PhaseApps(3)
	if v := shares[0].Spec.Containers[0].Resources.CPUShares; v == nil || *v != 8192 {
		t.Errorf("victim shares in static-shares = %v, want 8192", v)
	}
}

// minimal is an inline scenario that the rejection cases edit one line at a time.
const minimal = `
name: tiny
node: {cpus: 1}
apps:
  - name: svc
    containers:
      - {name: main, image: img, class: latency-critical, cpuset: "0"}
  - name: noisy
    containers:
      - {name: burn, image: img, class: best-effort}
victim: svc/main
hog: noisy/burn
phases:
  - name: p1
    duration_seconds: 10
    control: none
    start: {svc: 0, noisy: 2}
`

func writeScenario(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadInlineAppsAndDefaults(t *testing.T) {
	s, err := Load(writeScenario(t, minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.TickSeconds != DefaultTickSeconds || s.PolicyDir != DefaultPolicyDir {
		t.Errorf("defaults: tick %g, policy dir %q", s.TickSeconds, s.PolicyDir)
	}
	if len(s.Apps) != 2 || s.Apps[1].Spec.Containers[0].Class != state.BestEffort {
		t.Errorf("apps = %+v", s.Apps)
	}
	// The hog has no cpuset, so it may run on every CPU, the victim's included.
	if got := s.SharedCPUs(); !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("SharedCPUs = %v, want [0]", got)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown top-level field", "name: tiny", "name: tiny\nseeed: 3", `top level: unknown field "seeed"`},
		{"unknown phase field", "control: none", "control: none\n    contrl: policy", `phases[0]: unknown field "contrl"`},
		{"unknown container field", "class: best-effort}", "class: best-effort, cpu: 1}", `apps[1].containers[0]: unknown field "cpu"`},
		{"unknown resources field", "control: none", "control: static-split\n    resources: {noisy/burn: {quota: 1}}", `phases[0].resources["noisy/burn"]: unknown field "quota"`},
		{"wrong case", "name: tiny", "Name: tiny", `unknown field "Name"`},
		{"bad control", "control: none", "control: polcy", `phases[0] "p1": control "polcy": must be one of none, policy, static-shares, static-split, static-quota`},
		{"missing control", "control: none", "", `phases[0] "p1": control ""`},
		{"victim not started", "start: {svc: 0, noisy: 2}", "start: {noisy: 2}", `phases[0] "p1": start: the victim's app "svc" must start`},
		{"unknown app in start", "noisy: 2}", "noisy: 2, ghost: 1}", `start["ghost"]: no app of that name`},
		{"start after the end", "noisy: 2}", "noisy: 10}", `start["noisy"]: 10 must be in [0, duration_seconds=10)`},
		{"too short", "duration_seconds: 10", "duration_seconds: 0.1", `phases[0] "p1": duration_seconds must be at least one tick`},
		{"resources without static control", "control: none", "control: none\n    resources: {noisy/burn: {cpu_shares: 2}}", `resources: only static phases (static-shares, static-split, static-quota)`},
		{"static-shares upside down", "control: none", "control: static-shares\n    resources: {svc/main: {cpu_shares: 2}, noisy/burn: {cpu_shares: 1024}}", `fewer cpu_shares (2) than the hog noisy/burn (1024)`},
		{"static-shares missing hog", "control: none", "control: static-shares\n    resources: {svc/main: {cpu_shares: 2048}}", `static-shares needs cpu_shares for both`},
		{"static-split without quota", "control: none", "control: static-split", `static-split needs the hog's cpu_quota_cores`},
		{"static-quota without the victim's quota", "control: none", "control: static-quota\n    resources: {noisy/burn: {cpu_shares: 2}}", `static-quota needs the victim's cpu_quota_cores`},
		{"static-split takes the whole core", "control: none", "control: static-split\n    resources: {noisy/burn: {cpu_quota_cores: 1}}", `leaves nothing of the 1 shared CPUs`},
		{"out of range shares", "control: none", "control: static-shares\n    resources: {svc/main: {cpu_shares: 999999}, noisy/burn: {cpu_shares: 2}}", `resources: app svc: containers[0]: main: resources.cpu_shares 999999: must be in [2, 262144]`},
		{"victim of the wrong class", "class: latency-critical", "class: best-effort", `victim: svc/main has class "best-effort"`},
		{"slo on the hog", "class: best-effort}", "class: best-effort, slo: {latency_p99_ms: 20}}", `apps[1]: app noisy: containers[0]: burn: slo: only a latency-critical container has one`},
		{"slo of zero", `cpuset: "0"}`, `cpuset: "0", slo: {latency_p99_ms: 0}}`, `slo.latency_p99_ms must be a finite number > 0, got 0`},
		{"misspelt slo field", `cpuset: "0"}`, `cpuset: "0", slo: {p99_ms: 20}}`, `apps[0].containers[0].slo: unknown field "p99_ms" (known: latency_p99_ms)`},
		{"victim not a container id", "victim: svc/main", "victim: svc", `victim: "svc" is not a container ID`},
		{"unknown hog", "hog: noisy/burn", "hog: noisy/ghost", `hog: "noisy/ghost" is not a container`},
		{"cpuset beyond the node", `cpuset: "0"`, `cpuset: "1"`, `cpuset "1": CPU 1 is beyond node.cpus 1`},
		{"negative tick", "name: tiny", "name: tiny\ntick_seconds: -1", `tick_seconds must be > 0`},
		{"duplicate phase", "phases:", "phases:\n  - {name: p1, duration_seconds: 5, control: none, start: {svc: 0}}", `phases[1] "p1": name is used by an earlier phase`},
		{"invalid app spec", "name: noisy", "name: Noisy", `apps[1]: name "Noisy"`},
		{"not yaml", "node: {cpus: 1}", "node: {cpus: 1", `not valid YAML`},
		{"wrong type", "node: {cpus: 1}", "node: {cpus: one}", `cannot unmarshal string`},
		{"stop of the victim", "noisy: 2}", "noisy: 2}\n    stop: {svc: 5}", `stop["svc"]: the victim's app runs throughout`},
		{"stop before start", "noisy: 2}", "noisy: 2}\n    stop: {noisy: 1}", `stop["noisy"]: 1 must be in (start=2, duration_seconds=10]`},
		{"stop after the end", "noisy: 2}", "noisy: 2}\n    stop: {noisy: 11}", `stop["noisy"]: 11 must be in`},
		{"stop of an app not started", "start: {svc: 0, noisy: 2}", "start: {svc: 0}\n    stop: {noisy: 3}", `stop["noisy"]: the app does not start in this phase`},
		{"demand without a period", "class: best-effort}", "class: best-effort, demand: {kind: sine, base: 1}}", `container burn: demand sine: period_seconds must be > 0`},
		{"demand file missing", "class: best-effort}", "class: best-effort, demand: {kind: csv, file: none.csv}}", `container burn: demand csv: open none.csv`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(minimal, c.old, c.new, 1)
			if text == minimal {
				t.Fatalf("the case does not change the scenario: %q not found", c.old)
			}
			path := writeScenario(t, text)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted:\n%s", text)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v\nwant it to name %s and contain %q", err, path, c.want)
			}
		})
	}
}

func TestLoadAppFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("svc.json", `{"name":"svc","containers":[{"name":"main","image":"img","class":"latency-critical","cpus":"0"}]}`)
	text := strings.Replace(minimal, "  - name: svc\n    containers:\n      - {name: main, image: img, class: latency-critical, cpuset: \"0\"}\n", "  - file: svc.json\n", 1)
	write("s.yaml", text)
	_, err := Load(filepath.Join(dir, "s.yaml"))
	if err == nil || !strings.Contains(err.Error(), "svc.json") || !strings.Contains(err.Error(), `containers[0]: unknown field "cpus"`) {
		t.Fatalf("error = %v, want the app file and its unknown field named", err)
	}

	write("svc.json", `{"name":"svc","containers":[{"name":"main","image":"img","class":"latency-critical","cpuset":"0"}]}`)
	s, err := Load(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Apps[0].File != "svc.json" || s.Apps[0].Spec.Containers[0].CPUSet != "0" {
		t.Errorf("app from file = %+v", s.Apps[0])
	}

	write("s.yaml", strings.Replace(text, "file: svc.json", "{file: svc.json, name: svc}", 1))
	if _, err := Load(filepath.Join(dir, "s.yaml")); err == nil || !strings.Contains(err.Error(), `apps[0]: unknown field "name"`) {
		t.Errorf("file plus inline fields: error = %v", err)
	}
	write("s.yaml", strings.Replace(text, "file: svc.json", "file: missing.json", 1))
	if _, err := Load(filepath.Join(dir, "s.yaml")); err == nil || !strings.Contains(err.Error(), "apps[0]: read app spec") {
		t.Errorf("missing file: error = %v", err)
	}
}

func TestScaled(t *testing.T) {
	s, err := Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	short := s.Scaled(0.1)
	for i, p := range short.Phases {
		if p.DurationSeconds != s.Phases[i].DurationSeconds*0.1 {
			t.Errorf("%s: duration %g, want %g", p.Name, p.DurationSeconds, s.Phases[i].DurationSeconds*0.1)
		}
	}
	if start, _ := short.Phases[1].HogStart(short); start != 0.5 {
		t.Errorf("scaled hog start = %g, want 0.5", start)
	}
	if s.Phases[1].Start["hog"] != 5 || s.Phases[1].DurationSeconds != 40 {
		t.Errorf("Scaled changed the original: %+v", s.Phases[1])
	}
	if err := short.Validate(); err != nil {
		t.Errorf("scaled scenario is invalid: %v", err)
	}
	if tiny := s.Scaled(0.001); tiny.Phases[0].DurationSeconds != s.TickSeconds {
		t.Errorf("a phase scaled below one tick lasts %g, want one tick", tiny.Phases[0].DurationSeconds)
	}
	if same := s.Scaled(0); same.Phases[0].DurationSeconds != 40 {
		t.Errorf("Scaled(0) changed the duration to %g", same.Phases[0].DurationSeconds)
	}
}

// A scenario written as JSON carries its apps inline and reads back the same.
func TestMarshalRoundTrip(t *testing.T) {
	s, err := Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(raw, "written.json")
	if err != nil {
		t.Fatal(err)
	}
	if back.Apps[0].File != "" || !reflect.DeepEqual(back.Apps[0].Spec, s.Apps[0].Spec) {
		t.Errorf("apps after the round trip = %+v, want %+v", back.Apps[0], s.Apps[0])
	}
	if !reflect.DeepEqual(back.Phases, s.Phases) {
		t.Errorf("phases after the round trip = %+v", back.Phases)
	}
}

// The example app specs are what the docs tell people to apply or put with
// etcdctl, so each must be a valid spec with no misspelt field.
func TestExampleAppsAreValid(t *testing.T) {
	files, err := filepath.Glob("../../examples/apps/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("example apps: %v, %v", files, err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var spec state.AppSpec
		if err := checkFields(raw, &spec); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if err := decodeStrict(raw, &spec); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if err := spec.Validate(); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// A csv demand is read relative to the file that names it and carried
// inline from then on; a phase's stops reach its apps.
func TestLoadInlinesDemandFilesAndStops(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"apps/load.csv": "seconds,cores\n0,0.2\n10,0.6\n",
		"apps/noisy.json": `{"name":"noisy","containers":[{"name":"burn","image":"img","class":"best-effort",
			"demand":{"kind":"csv","file":"load.csv"}}]}`,
		"s.yaml": strings.Replace(strings.Replace(minimal,
			"  - name: noisy\n    containers:\n      - {name: burn, image: img, class: best-effort}\n", "  - file: apps/noisy.json\n", 1),
			"start: {svc: 0, noisy: 2}", "start: {svc: 0, noisy: 2}\n    stop: {noisy: 7.5}", 1),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Apps[1].Spec.Containers[0].Demand
	if want := [][2]float64{{0, 0.2}, {10, 0.6}}; got == nil || got.File != "" || !reflect.DeepEqual(got.Points, want) {
		t.Errorf("demand = %+v, want the file's rows inline", got)
	}
	apps := s.PhaseApps(0)
	if len(apps) != 2 || apps[0].StopSeconds != nil || apps[1].StopSeconds == nil || *apps[1].StopSeconds != 7.5 {
		t.Errorf("phase apps = %+v, want noisy stopped at 7.5 s and svc running throughout", apps)
	}
}
