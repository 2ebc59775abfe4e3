package scenario

import (
	"fmt"
	"math"
	"strings"

	"github.com/sluice-io/sluice/sim/demand"
	"github.com/sluice-io/sluice/state"
)

// Validate reports the first thing wrong with a loaded scenario, naming the
// field and, inside a phase, the phase.
func (s Scenario) Validate() error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("name is required")
	}
	if !(s.TickSeconds > 0) || math.IsInf(s.TickSeconds, 0) {
		return fmt.Errorf("tick_seconds must be > 0, got %g", s.TickSeconds)
	}
	if s.Node.CPUs < 1 {
		return fmt.Errorf("node.cpus must be ≥ 1, got %d", s.Node.CPUs)
	}
	if err := s.validateApps(); err != nil {
		return err
	}
	if err := s.validateRoles(); err != nil {
		return err
	}
	if len(s.Phases) == 0 {
		return fmt.Errorf("phases: at least one is required")
	}
	seen := map[string]bool{}
	for i, p := range s.Phases {
		where := fmt.Sprintf("phases[%d]", i)
		if p.Name != "" {
			where = fmt.Sprintf("phases[%d] %q", i, p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("%s: name is used by an earlier phase", where)
		}
		seen[p.Name] = true
		if err := s.validatePhase(i); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

func (s Scenario) validateApps() error {
	if len(s.Apps) == 0 {
		return fmt.Errorf("apps: at least one is required")
	}
	seen := map[string]bool{}
	for i, a := range s.Apps {
		where := fmt.Sprintf("apps[%d]", i)
		if a.File != "" {
			where += " (" + a.File + ")"
		}
		if err := a.Spec.Validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if seen[a.Spec.Name] {
			return fmt.Errorf("%s: app name %q is used twice", where, a.Spec.Name)
		}
		seen[a.Spec.Name] = true
		for _, c := range a.Spec.Containers {
			if err := s.checkCPUSetFits(c); err != nil {
				return fmt.Errorf("%s: container %s: %w", where, c.Name, err)
			}
			if c.Demand == nil {
				continue
			}
			if _, err := demand.FromSpec(*c.Demand, nil); err != nil {
				return fmt.Errorf("%s: container %s: %w", where, c.Name, err)
			}
		}
	}
	return nil
}

func (s Scenario) checkCPUSetFits(c state.ContainerSpec) error {
	if c.CPUSet == "" {
		return nil
	}
	cpus, err := state.ParseCPUSet(c.CPUSet)
	if err != nil {
		return fmt.Errorf("cpuset: %w", err)
	}
	if last := cpus[len(cpus)-1]; last >= s.Node.CPUs {
		return fmt.Errorf("cpuset %q: CPU %d is beyond node.cpus %d", c.CPUSet, last, s.Node.CPUs)
	}
	return nil
}

func (s Scenario) validateRoles() error {
	roles := []struct {
		field, id string
		class     state.Class
	}{
		{"victim", s.Victim, state.LatencyCritical},
		{"hog", s.Hog, state.BestEffort},
	}
	for _, r := range roles {
		if !strings.Contains(r.id, "/") {
			return fmt.Errorf("%s: %q is not a container ID \"<app>/<container>\"", r.field, r.id)
		}
		c, ok := s.Container(r.id)
		if !ok {
			return fmt.Errorf("%s: %q is not a container of the scenario's apps", r.field, r.id)
		}
		if c.Class != r.class {
			return fmt.Errorf("%s: %s has class %q, the %s must be %q", r.field, r.id, c.Class, r.field, r.class)
		}
	}
	if s.VictimApp() == s.HogApp() {
		return fmt.Errorf("hog: %s is in the victim's app %s; they must be separate apps so each phase can start them apart", s.Hog, s.VictimApp())
	}
	if len(s.SharedCPUs()) == 0 {
		return fmt.Errorf("hog: %s shares no CPU with the victim %s, so there is nothing to contend for", s.Hog, s.Victim)
	}
	return nil
}

func (s Scenario) validatePhase(i int) error {
	p := s.Phases[i]
	if p.Name == "" {
		return fmt.Errorf("name is required")
	}
	if !(p.DurationSeconds >= s.TickSeconds) || math.IsInf(p.DurationSeconds, 0) {
		return fmt.Errorf("duration_seconds must be at least one tick (%gs), got %g", s.TickSeconds, p.DurationSeconds)
	}
	if !validControl(p.Control) {
		return fmt.Errorf("control %q: must be one of %s", p.Control, controlList())
	}
	if err := s.validateStarts(p); err != nil {
		return err
	}
	if err := s.validateResources(p); err != nil {
		return err
	}
	for _, app := range s.PhaseApps(i) {
		if err := app.Spec.Validate(); err != nil {
			return fmt.Errorf("resources: %w", err)
		}
	}
	return nil
}

func validControl(c Control) bool {
	for _, known := range controls {
		if c == known {
			return true
		}
	}
	return false
}

func controlList() string {
	names := make([]string, len(controls))
	for i, c := range controls {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func (s Scenario) validateStarts(p Phase) error {
	if _, ok := p.Start[s.VictimApp()]; !ok {
		return fmt.Errorf("start: the victim's app %q must start in every phase", s.VictimApp())
	}
	for _, app := range sortedKeys(p.Start) {
		offset := p.Start[app]
		if _, ok := s.App(app); !ok {
			return fmt.Errorf("start[%q]: no app of that name in apps", app)
		}
		if !(offset >= 0) || offset >= p.DurationSeconds {
			return fmt.Errorf("start[%q]: %g must be in [0, duration_seconds=%g)", app, offset, p.DurationSeconds)
		}
	}
	return s.validateStops(p)
}

func (s Scenario) validateStops(p Phase) error {
	for _, app := range sortedKeys(p.Stop) {
		offset := p.Stop[app]
		start, starts := p.Start[app]
		switch {
		case app == s.VictimApp():
			return fmt.Errorf("stop[%q]: the victim's app runs throughout the phase", app)
		case !starts:
			return fmt.Errorf("stop[%q]: the app does not start in this phase", app)
		case !(offset > start) || offset > p.DurationSeconds:
			return fmt.Errorf("stop[%q]: %g must be in (start=%g, duration_seconds=%g]", app, offset, start, p.DurationSeconds)
		}
	}
	return nil
}

func (s Scenario) validateResources(p Phase) error {
	if !p.Control.IsStatic() {
		if len(p.Resources) > 0 {
			return fmt.Errorf("resources: only static phases (static-shares, static-split, static-quota) take resources, this one is %q", p.Control)
		}
		return nil
	}
	for _, id := range sortedKeys(p.Resources) {
		if _, ok := s.Container(id); !ok {
			return fmt.Errorf("resources[%q]: not a container of the scenario's apps", id)
		}
		if _, runs := p.Start[appOf(id)]; !runs {
			return fmt.Errorf("resources[%q]: its app does not start in this phase", id)
		}
	}
	if _, runs := p.Start[s.HogApp()]; !runs {
		return fmt.Errorf("start: a %s phase needs the hog's app %q to start", p.Control, s.HogApp())
	}
	switch p.Control {
	case ControlStaticShares:
		return s.validateStaticShares(p)
	case ControlStaticQuota:
		return s.validateStaticQuota(p)
	}
	return s.validateStaticSplit(p)
}

func (s Scenario) validateStaticShares(p Phase) error {
	victim, hog := p.Resources[s.Victim].CPUShares, p.Resources[s.Hog].CPUShares
	if victim == nil || hog == nil {
		return fmt.Errorf("resources: static-shares needs cpu_shares for both the victim %s and the hog %s", s.Victim, s.Hog)
	}
	if *victim <= *hog {
		return fmt.Errorf("resources: static-shares gives the victim %s fewer cpu_shares (%d) than the hog %s (%d)", s.Victim, *victim, s.Hog, *hog)
	}
	return nil
}

func (s Scenario) validateStaticSplit(p Phase) error {
	quota := p.Resources[s.Hog].CPUQuotaCores
	if quota == nil {
		return fmt.Errorf("resources[%q]: static-split needs the hog's cpu_quota_cores", s.Hog)
	}
	if shared := float64(len(s.SharedCPUs())); *quota >= shared {
		return fmt.Errorf("resources[%q]: cpu_quota_cores %g leaves nothing of the %g shared CPUs to the victim", s.Hog, *quota, shared)
	}
	return nil
}

func (s Scenario) validateStaticQuota(p Phase) error {
	if p.Resources[s.Victim].CPUQuotaCores == nil {
		return fmt.Errorf("resources[%q]: static-quota needs the victim's cpu_quota_cores", s.Victim)
	}
	return nil
}
