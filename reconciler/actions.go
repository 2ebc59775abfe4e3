package reconciler

import (
	"fmt"
	"sort"

	"github.com/sluice-io/sluice/state"
)

// actions lists what the app's containers need in the phase it is now in.
func (c *Core) actions(in Input, a *appState, app *appView) []Action {
	switch a.life.phase() {
	case state.Pending, state.Ready:
		return c.converge(in, app)
	case state.Failed:
		if app.spec == nil {
			// A rejected spec with no good one known (an agent that
			// started after the bad edit) holds the app: its containers
			// run on as they are, untouched, until a good spec or a
			// delete says what to do (fail static).
			return nil
		}
		// A failed app waits for its restart with its dead containers left
		// in place for inspection; the ones still running keep receiving
		// the policy's settings.
		out := removeEach(app.extras, "extra container")
		for _, spec := range app.spec.Containers {
			if container, ok := app.kept[spec.Name]; ok && container.Running && container.SpecHash == app.hashes[spec.Name] {
				out = append(out, c.resourceActions(in, app.name, spec, container)...)
			}
		}
		return out
	case state.Terminating, state.Terminated, phaseNone:
		return removeAll(app)
	}
	return nil
}

// converge brings every container of the spec to running with the spec's
// hash and the desired resources.
func (c *Core) converge(in Input, app *appView) []Action {
	out := removeEach(app.extras, "extra container")
	for _, spec := range startupOrder(app.spec.Containers) {
		container, exists := app.kept[spec.Name]
		hash := app.hashes[spec.Name]
		switch {
		case !exists:
			out = append(out, c.create(in, app.name, spec, hash, "", "missing")...)
		case container.SpecHash != hash:
			out = append(out, stopAndRemove(container, "spec changed")...)
			out = append(out, c.create(in, app.name, spec, hash, "", "spec changed")...)
		case !container.Running:
			// A restart keeps the GUID, so traces of the service stay
			// under one name across its crashes.
			out = append(out, stopAndRemove(container, "restart")...)
			out = append(out, c.create(in, app.name, spec, hash, container.GUID, "restart")...)
		default:
			out = append(out, c.resourceActions(in, app.name, spec, container)...)
		}
	}
	return out
}

// create makes the container, then sets what the runtime's create does not:
// the decision's CPU settings where they differ from the spec's, and the
// bandwidth limit.
func (c *Core) create(in Input, app string, spec state.ContainerSpec, hash, guid, reason string) []Action {
	if guid == "" {
		guid = c.newGUID(spec.Image)
	}
	id := state.ContainerID(app, spec.Name)
	specCopy := spec
	out := []Action{{
		Kind: ActionCreate, ContainerID: id, App: app, Spec: &specCopy, GUID: guid, SpecHash: hash, Reason: reason,
	}}
	decision := c.decisionFor(in.View, id)
	if want := desiredCPU(spec, decision); !cpuSatisfied(want, initialCPU(spec)) {
		out = append(out, Action{Kind: ActionSetCPU, ContainerID: id, App: app, CPU: &want, Reason: "decision after create"})
	}
	if want := desiredBandwidth(spec, decision); want != nil {
		out = append(out, Action{Kind: ActionSetBandwidth, ContainerID: id, App: app, BandwidthMbit: want, Reason: "limit after create"})
	}
	return out
}

func (c *Core) newGUID(image string) string {
	guid, err := NewGUID(image, c.random)
	if err != nil {
		c.guidFallback++
		return fmt.Sprintf("%s-n%07d", imageShortName(image), c.guidFallback)
	}
	return guid
}

// resourceActions sets a running container's CPU and bandwidth where what
// was read back differs from what is desired. Unknown settings are left
// alone: the next pass reads them again.
func (c *Core) resourceActions(in Input, app string, spec state.ContainerSpec, container state.Container) []Action {
	var out []Action
	decision := c.decisionFor(in.View, container.ID)
	if actual, known := in.CPU[container.ID]; known {
		if want := desiredCPU(spec, decision); !cpuSatisfied(want, actual) {
			out = append(out, Action{
				Kind: ActionSetCPU, ContainerID: container.ID, App: app, Container: container, CPU: &want,
				Reason: "was " + actual.String(),
			})
		}
	}
	if actual, known := in.Bandwidth[container.ID]; known {
		if want := desiredBandwidth(spec, decision); !bandwidthEqual(want, actual) {
			out = append(out, Action{
				Kind: ActionSetBandwidth, ContainerID: container.ID, App: app, Container: container, BandwidthMbit: want,
				Reason: "was " + state.FormatOptional(actual, "unlimited"),
			})
		}
	}
	return out
}

// decisionFor returns the latest decision's entry for a container, if any.
func (c *Core) decisionFor(view *state.View, containerID string) *state.ContainerDecision {
	decision, ok := view.Decisions[c.node]
	if !ok {
		return nil
	}
	entry, ok := decision.Containers[containerID]
	if !ok {
		return nil
	}
	return &entry
}

func removeAll(app *appView) []Action {
	return removeEach(app.all, "no spec for it")
}

func removeEach(containers []state.Container, reason string) []Action {
	var out []Action
	for _, container := range containers {
		out = append(out, stopAndRemove(container, reason)...)
	}
	return out
}

func stopAndRemove(container state.Container, reason string) []Action {
	app := appOf(container)
	var out []Action
	if container.Running {
		out = append(out, Action{Kind: ActionStop, ContainerID: container.ID, App: app, Container: container, Reason: reason})
	}
	return append(out, Action{Kind: ActionRemove, ContainerID: container.ID, App: app, Container: container, Reason: reason})
}

// startupOrder puts every container after the ones whose Parent it is: a
// parent calls its children, so they must be up first. Containers caught in
// a parent cycle keep their spec order at the end.
func startupOrder(specs []state.ContainerSpec) []state.ContainerSpec {
	waiting := map[string]int{}
	for _, spec := range specs {
		if spec.Parent != "" {
			waiting[spec.Parent]++
		}
	}
	placed := map[string]bool{}
	var order []state.ContainerSpec
	for progress := true; progress; {
		progress = false
		for _, spec := range specs {
			if placed[spec.Name] || waiting[spec.Name] > 0 {
				continue
			}
			placed[spec.Name] = true
			order = append(order, spec)
			if spec.Parent != "" {
				waiting[spec.Parent]--
			}
			progress = true
		}
	}
	for _, spec := range specs {
		if !placed[spec.Name] {
			order = append(order, spec)
		}
	}
	return order
}

// sortActions orders the actions by kind (stops, removes, creates, then
// settings), keeping each kind's own order: creates follow the start-up
// order within an app and apps come sorted by name.
func sortActions(actions []Action) {
	sort.SliceStable(actions, func(i, j int) bool {
		return actionOrder[actions[i].Kind] < actionOrder[actions[j].Kind]
	})
}
