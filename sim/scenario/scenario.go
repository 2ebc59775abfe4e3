// Package scenario reads sluice's experiment files: the apps to run on one
// node, which container is the victim and which is the hog, and the phases
// the experiment goes through. The simulator and the real-node runner read
// the same file, so a scenario says what to run, never how.
//
// A runner uses a Scenario in three steps:
//
//  1. Load the file. Load fills defaults, reads app specs referenced by path
//     and validates everything, so a runner never sees a half-valid scenario.
//  2. Optionally shorten it with Scaled for a quick run.
//  3. For each phase, in order and on a clean node: start each app returned by
//     PhaseApps at its offset (with the phase's static resources already
//     merged into its containers), let the phase's Control act for
//     DurationSeconds, then remove every app before the next phase.
package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// DefaultTickSeconds is the control and sampling interval when a scenario
// does not set tick_seconds.
const DefaultTickSeconds = 0.25

// DefaultPolicyDir is the policy bundle a policy phase evaluates when the
// scenario does not name one.
const DefaultPolicyDir = "policies"

// Control says what manages the victim and the hog during a phase.
type Control string

const (
	// ControlNone leaves the CPU to the kernel's default sharing.
	ControlNone Control = "none"
	// ControlPolicy runs the policy engine and the reconciler every tick.
	ControlPolicy Control = "policy"
	// ControlStaticShares applies fixed CPU shares, the victim's far above
	// the hog's, and changes nothing afterwards.
	ControlStaticShares Control = "static-shares"
	// ControlStaticSplit applies a fixed CPU quota to the hog, a partition
	// that does not follow the victim's demand.
	ControlStaticSplit Control = "static-split"
	// ControlStaticQuota applies a fixed CPU quota to the victim, the limit
	// an operator sets on a service (at its mean demand, or its peak).
	ControlStaticQuota Control = "static-quota"
)

var controls = []Control{ControlNone, ControlPolicy, ControlStaticShares, ControlStaticSplit, ControlStaticQuota}

// IsStatic reports whether the control applies fixed resources at start-up.
func (c Control) IsStatic() bool {
	return c == ControlStaticShares || c == ControlStaticSplit || c == ControlStaticQuota
}

// Scenario is one experiment file.
type Scenario struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Seed feeds every random choice of the run, so a scenario replays.
	Seed int64 `json:"seed"`
	// TickSeconds is how often the node is observed and the policy runs.
	TickSeconds float64 `json:"tick_seconds,omitempty"`
	Node        Node    `json:"node"`
	// PolicyDir is the policy bundle for policy phases, relative to the
	// working directory like every other directory the sluice command takes.
	PolicyDir string `json:"policy_dir,omitempty"`
	// Profile is the simulator's node profile (sim/cfs.Profile), relative
	// to the scenario file; empty runs the fluid CPU model. A real run
	// ignores it: the real node is what a profile describes.
	Profile string      `json:"profile,omitempty"`
	Apps    []AppSource `json:"apps"`
	// Victim and Hog are container IDs, "<app>/<container>".
	Victim string  `json:"victim"`
	Hog    string  `json:"hog"`
	Phases []Phase `json:"phases"`

	// Path is the file the scenario was loaded from; app files resolve
	// against its directory.
	Path string `json:"-"`
}

// Node is the machine the scenario runs on (simulated, or the model of the
// real one).
type Node struct {
	CPUs int `json:"cpus"`
}

// Phase is one stretch of the experiment, always started from a clean node.
type Phase struct {
	Name            string  `json:"name"`
	DurationSeconds float64 `json:"duration_seconds"`
	Control         Control `json:"control"`
	// Start maps an app name to its start, in seconds after the phase
	// begins. Apps missing from the map do not run in this phase.
	Start map[string]float64 `json:"start"`
	// Stop maps an app name to when it is deleted, in seconds after the
	// phase begins (after its start); apps missing from the map run to the
	// end of the phase. The victim runs throughout.
	Stop map[string]float64 `json:"stop,omitempty"`
	// Resources are applied to containers (by ID) when they start, for the
	// static baselines; they override the app spec's own resources.
	Resources map[string]state.Resources `json:"resources,omitempty"`
}

// AppSource is an app of the scenario, written either inline as an app spec
// or as {"file": "path.json"}, relative to the scenario file. Load reads the
// file into Spec and keeps File for the record.
type AppSource struct {
	File string
	Spec state.AppSpec
}

// UnmarshalJSON accepts either form.
func (a *AppSource) UnmarshalJSON(data []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("an app is an object, either an app spec or {\"file\": ...}: %w", err)
	}
	if raw, ok := probe["file"]; ok {
		*a = AppSource{}
		return json.Unmarshal(raw, &a.File)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	*a = AppSource{}
	return dec.Decode(&a.Spec)
}

// MarshalJSON writes the resolved spec inline, so a written scenario stands
// on its own without the files it was loaded from.
func (a AppSource) MarshalJSON() ([]byte, error) {
	return json.Marshal(a.Spec)
}

// PhaseApp is an app as it runs in one phase.
type PhaseApp struct {
	Spec state.AppSpec
	// StartSeconds is when it starts, after the phase begins.
	StartSeconds float64
	// StopSeconds is when it is deleted, after the phase begins; nil if it
	// runs to the end.
	StopSeconds *float64
}

// App returns the scenario's app with the given name.
func (s Scenario) App(name string) (state.AppSpec, bool) {
	for _, a := range s.Apps {
		if a.Spec.Name == name {
			return a.Spec, true
		}
	}
	return state.AppSpec{}, false
}

// Container returns the container with the given "<app>/<container>" ID.
func (s Scenario) Container(id string) (state.ContainerSpec, bool) {
	appName, containerName, ok := strings.Cut(id, "/")
	if !ok {
		return state.ContainerSpec{}, false
	}
	app, ok := s.App(appName)
	if !ok {
		return state.ContainerSpec{}, false
	}
	for _, c := range app.Containers {
		if c.Name == containerName {
			return c, true
		}
	}
	return state.ContainerSpec{}, false
}

// ProfilePath is the node profile's path, resolved against the scenario's
// directory; "" when the scenario names none.
func (s Scenario) ProfilePath() string {
	if s.Profile == "" || filepath.IsAbs(s.Profile) {
		return s.Profile
	}
	return filepath.Join(filepath.Dir(s.Path), s.Profile)
}

// VictimSLO returns the victim's latency SLO, or nil when its spec has none.
func (s Scenario) VictimSLO() *state.SLOSpec {
	victim, ok := s.Container(s.Victim)
	if !ok || victim.SLO == nil {
		return nil
	}
	slo := *victim.SLO
	return &slo
}

// VictimApp and HogApp name the apps the victim and the hog belong to.
func (s Scenario) VictimApp() string { return appOf(s.Victim) }

// HogApp names the app the hog belongs to.
func (s Scenario) HogApp() string { return appOf(s.Hog) }

func appOf(containerID string) string {
	app, _, _ := strings.Cut(containerID, "/")
	return app
}

// HogStart returns when the hog starts in the phase, in seconds after the
// phase begins; false when the hog does not run in it.
func (p Phase) HogStart(s Scenario) (float64, bool) {
	start, ok := p.Start[s.HogApp()]
	if !ok || start >= p.DurationSeconds {
		return 0, false
	}
	return start, true
}

// PhaseApps returns the apps that run in phase i, ordered by start time and
// then name, with the phase's resources merged into their containers.
func (s Scenario) PhaseApps(i int) []PhaseApp {
	phase := s.Phases[i]
	var apps []PhaseApp
	for _, a := range s.Apps {
		start, ok := phase.Start[a.Spec.Name]
		if !ok {
			continue
		}
		app := PhaseApp{Spec: withResources(a.Spec, phase.Resources), StartSeconds: start}
		if stop, ok := phase.Stop[a.Spec.Name]; ok {
			app.StopSeconds = &stop
		}
		apps = append(apps, app)
	}
	slices.SortStableFunc(apps, func(a, b PhaseApp) int {
		if a.StartSeconds != b.StartSeconds {
			if a.StartSeconds < b.StartSeconds {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Spec.Name, b.Spec.Name)
	})
	return apps
}

// withResources returns a copy of spec whose containers carry the phase's
// resources, field by field, over their own.
func withResources(spec state.AppSpec, resources map[string]state.Resources) state.AppSpec {
	spec.Containers = slices.Clone(spec.Containers)
	for i, c := range spec.Containers {
		r, ok := resources[state.ContainerID(spec.Name, c.Name)]
		if !ok {
			continue
		}
		if r.CPUShares != nil {
			c.Resources.CPUShares = r.CPUShares
		}
		if r.CPUQuotaCores != nil {
			c.Resources.CPUQuotaCores = r.CPUQuotaCores
		}
		if r.MemoryBytes != nil {
			c.Resources.MemoryBytes = r.MemoryBytes
		}
		if r.NetMbit != nil {
			c.Resources.NetMbit = r.NetMbit
		}
		spec.Containers[i] = c
	}
	return spec
}

// SharedCPUs returns the CPUs the victim and the hog can both run on: the
// capacity they contend for. A container without a cpuset may use every CPU
// of the node.
func (s Scenario) SharedCPUs() []int {
	victim := s.CPUsOf(s.Victim)
	hog := s.CPUsOf(s.Hog)
	var shared []int
	for _, cpu := range victim {
		if slices.Contains(hog, cpu) {
			shared = append(shared, cpu)
		}
	}
	return shared
}

// CPUsOf returns the CPUs a container of the scenario may run on: its
// cpuset, or every CPU of the node.
func (s Scenario) CPUsOf(containerID string) []int {
	c, _ := s.Container(containerID)
	if c.CPUSet != "" {
		if cpus, err := state.ParseCPUSet(c.CPUSet); err == nil {
			return cpus
		}
	}
	all := make([]int, s.Node.CPUs)
	for i := range all {
		all[i] = i
	}
	return all
}

// TotalSeconds is the length of all phases laid end to end.
func (s Scenario) TotalSeconds() float64 {
	var total float64
	for _, p := range s.Phases {
		total += p.DurationSeconds
	}
	return total
}

// Scaled returns a copy whose phases are f times as long, with every start
// offset scaled alike, so a CI run keeps the experiment's shape. A phase is
// never shorter than one tick. f must be positive; otherwise the scenario is
// returned unchanged and it is the caller's job to reject the flag.
func (s Scenario) Scaled(f float64) Scenario {
	scaled := s
	scaled.Apps = slices.Clone(s.Apps)
	scaled.Phases = make([]Phase, len(s.Phases))
	for i, p := range s.Phases {
		p.Start = cloneMap(p.Start)
		p.Resources = cloneMap(p.Resources)
		if f > 0 {
			p.DurationSeconds = max(p.DurationSeconds*f, s.TickSeconds)
			for app, start := range p.Start {
				p.Start[app] = start * f
			}
		}
		scaled.Phases[i] = p
	}
	return scaled
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
