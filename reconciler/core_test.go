package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// TestScripts runs the core against the recording fakes through the
// scripts in testdata/: events in, intended actions and transitions out.
func TestScripts(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts in testdata/ (%v)", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h := newCoreHarness()
			runScript(t, path, h.run)
		})
	}
}

var scriptStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// coreHarness is a node as the scripts drive it: a view folded from the
// script's puts, a fake runtime, and the core. `step` runs one Step and
// carries its Ready out the way the runner does.
type coreHarness struct {
	node      string
	core      *reconciler.Core
	view      state.View
	now       time.Time
	runtime   *fake.Runtime
	cpu       *fake.CPU
	bandwidth *fake.Bandwidth
	// registers: the script has registered the node, so from now on its
	// registration decides whether the node is lost, as
	// reconciler.LostWhenUnregistered does for the runner.
	registers bool
	failures  []reconciler.ActionFailure
	// store is the identity of the store the view stands for.
	store string
}

func newCoreHarness() *coreHarness {
	runtime := fake.NewRuntime()
	return &coreHarness{
		node: "n1",
		core: reconciler.NewCore("n1",
			reconciler.WithRandom(rand.NewChaCha8([32]byte{1})),
			reconciler.WithRestartBackoff(state.Backoff{Initial: time.Second, Max: 8 * time.Second}),
			reconciler.WithBackoffReset(time.Minute)),
		view:      state.NewView("n1"),
		now:       scriptStart,
		runtime:   runtime,
		cpu:       fake.NewCPU(runtime),
		bandwidth: fake.NewBandwidth(runtime),
	}
}

func (h *coreHarness) run(c scriptCase) (string, error) {
	switch c.command {
	case "put":
		h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: c.args["key"], Value: []byte(c.input)})
		if c.args["key"] == state.Keys.Node(h.node) {
			h.registers = true
		}
		if err, bad := h.view.Errors[c.args["key"]]; bad {
			return "rejected: " + err, nil
		}
		return "", nil
	case "delete":
		h.view.Apply(state.Event{Revision: h.view.Revision + 1, Key: c.args["key"], Deleted: true})
		return "", nil
	case "advance":
		by, err := time.ParseDuration(c.args["by"])
		if err != nil {
			return "", fmt.Errorf("advance by=%q: %w", c.args["by"], err)
		}
		h.now = h.now.Add(by)
		return fmt.Sprintf("now +%s", h.now.Sub(scriptStart)), nil
	case "add":
		return h.add(c)
	case "kill":
		code, err := c.intArg("code", 1)
		if err != nil {
			return "", err
		}
		return "", h.runtime.Kill(c.args["id"], code, c.hasFlag("oom"))
	case "fail":
		times, err := c.intArg("times", 1)
		if err != nil {
			return "", err
		}
		h.runtime.Fail(c.args["op"], c.args["id"], errors.New(c.args["msg"]), times)
		return "", nil
	case "drift":
		quota, err := strconv.ParseFloat(c.args["quota"], 64)
		if err != nil {
			return "", fmt.Errorf("drift quota=%q: %w", c.args["quota"], err)
		}
		return "", h.drift(c.args["id"], quota)
	case "store":
		h.store = c.args["id"]
		h.runtime.Store = h.store
		return "", nil
	case "step":
		return h.step(c.hasFlag("dry"), c.hasFlag("full"))
	case "containers":
		return h.containers()
	case "phases":
		return h.phases(), nil
	}
	return "", fmt.Errorf("unknown command %q", c.command)
}

// add puts a container in place as an earlier agent would have left it.
// hash=spec takes the hash of the container's current spec.
func (h *coreHarness) add(c scriptCase) (string, error) {
	id := c.args["id"]
	app, name, _ := strings.Cut(id, "/")
	hash := c.args["hash"]
	if hash == "spec" {
		spec, ok := h.specOf(app, name)
		if !ok {
			return "", fmt.Errorf("add %s hash=spec: no such container in the view", id)
		}
		hash = reconciler.SpecHash(spec)
	}
	container := h.runtime.Add(state.Container{
		ID: id, App: app, Name: name, GUID: c.args["guid"], RuntimeID: c.args["runtime-id"],
		Running: !c.hasFlag("exited"), SpecHash: hash, Store: c.args["store"],
	}, state.CPUResources{})
	return "added " + container.RuntimeID, nil
}

// drift changes a container's quota behind the core's back and leaves its
// other settings as they are.
func (h *coreHarness) drift(id string, quota float64) error {
	containers, err := h.runtime.List(context.Background())
	if err != nil {
		return err
	}
	for _, container := range containers {
		if container.ID == id {
			cpu, err := h.cpu.CPU(context.Background(), container)
			if err != nil {
				return err
			}
			cpu.QuotaCores = &quota
			return h.runtime.SetActualCPU(id, cpu)
		}
	}
	return fmt.Errorf("drift: no container %s", id)
}

func (h *coreHarness) specOf(app, name string) (state.ContainerSpec, bool) {
	for _, spec := range h.view.Apps[app].Containers {
		if spec.Name == name {
			return spec, true
		}
	}
	return state.ContainerSpec{}, false
}

func (h *coreHarness) input(ctx context.Context) (reconciler.Input, error) {
	containers, err := h.runtime.List(ctx)
	if err != nil {
		return reconciler.Input{}, err
	}
	in := reconciler.Input{
		Now: h.now, View: &h.view, Containers: containers, Failures: h.failures,
		CPU: map[string]state.CPUResources{}, Bandwidth: map[string]*float64{}, Store: h.store,
	}
	if h.registers {
		in.NodeLost = reconciler.LostWhenUnregistered(h.node)(&h.view, h.now)
	}
	for _, container := range containers {
		if !container.Running {
			continue
		}
		if in.CPU[container.ID], err = h.cpu.CPU(ctx, container); err != nil {
			return in, err
		}
		if in.Bandwidth[container.ID], err = h.bandwidth.Bandwidth(ctx, container); err != nil {
			return in, err
		}
	}
	return in, nil
}

// step runs one Step; dry leaves its actions undone, full shows the spec
// revision and containers each status records.
func (h *coreHarness) step(dry, full bool) (string, error) {
	ctx := context.Background()
	in, err := h.input(ctx)
	if err != nil {
		return "", err
	}
	ready := h.core.Step(in)
	var out strings.Builder
	if ready.Converged() {
		out.WriteString("converged\n")
	}
	for _, action := range ready.Actions {
		fmt.Fprintf(&out, "action: %s\n", action)
	}
	for _, status := range ready.Statuses {
		fmt.Fprintf(&out, "status: %s\n", formatStatus(status))
		if full {
			fmt.Fprintf(&out, "  spec revision %d, containers %s\n", status.SpecRevision, formatContainers(status.Containers))
		}
	}
	for _, app := range ready.Purged {
		fmt.Fprintf(&out, "purged: %s\n", app)
	}
	for _, held := range ready.Held {
		fmt.Fprintf(&out, "held: %s\n", held)
	}
	if !ready.WakeAt.IsZero() {
		fmt.Fprintf(&out, "wake: in %s\n", ready.WakeAt.Sub(h.now))
	}
	h.failures = nil
	if !dry {
		for _, failure := range h.execute(ctx, ready.Actions) {
			fmt.Fprintf(&out, "failed: %s %s: %s\n", failure.Action.Kind, failure.Action.ContainerID, failure.Err)
		}
	}
	return out.String(), nil
}

// execute carries the actions out in order; a failure skips the later
// actions on the same container and no others, as the runner does.
func (h *coreHarness) execute(ctx context.Context, actions []reconciler.Action) []reconciler.ActionFailure {
	created := map[string]state.Container{}
	failed := map[string]bool{}
	for _, action := range actions {
		if failed[action.ContainerID] {
			continue
		}
		target := action.Container
		if target.RuntimeID == "" {
			target = created[action.ContainerID]
		}
		var err error
		switch action.Kind {
		case reconciler.ActionCreate:
			created[action.ContainerID], err = h.runtime.Create(ctx, action.App, *action.Spec, action.GUID, action.SpecHash)
		case reconciler.ActionStop:
			err = h.runtime.Stop(ctx, target)
		case reconciler.ActionRemove:
			err = h.runtime.Remove(ctx, target)
		case reconciler.ActionSetCPU:
			err = h.cpu.SetCPU(ctx, target, *action.CPU)
		case reconciler.ActionSetBandwidth:
			err = h.bandwidth.SetBandwidth(ctx, target, action.BandwidthMbit)
		}
		if err != nil {
			failed[action.ContainerID] = true
			h.failures = append(h.failures, reconciler.ActionFailure{Action: action, Err: err.Error()})
		}
	}
	return h.failures
}

func formatStatus(status state.AppStatus) string {
	tr := status.Transition
	s := fmt.Sprintf("%s %q -> %s on %s (%s)", status.App, tr.From, tr.To, tr.Event, tr.Reason)
	if status.Restarts > 0 {
		s += fmt.Sprintf(" restarts=%d", status.Restarts)
	}
	if status.Error != "" {
		s += fmt.Sprintf(" error=%q", status.Error)
	}
	if r := status.Rejected; r != nil {
		s += fmt.Sprintf(" rejected=%s@%d", r.Key, r.Revision)
	}
	return s
}

func formatContainers(containers []state.ContainerStatus) string {
	parts := make([]string, len(containers))
	for i, c := range containers {
		parts[i] = fmt.Sprintf("%s=%s running=%t", c.Name, c.RuntimeID, c.Running)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (h *coreHarness) containers() (string, error) {
	containers, err := h.runtime.List(context.Background())
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, container := range containers {
		cpu, _ := h.cpu.CPU(context.Background(), container)
		condition := "running"
		if !container.Running {
			condition = fmt.Sprintf("exited(%d)", container.ExitCode)
		}
		fmt.Fprintf(&out, "%s %s %s guid=%s %s%s\n", container.ID, container.RuntimeID, condition, container.GUID, cpu, storeNote(container))
	}
	return out.String(), nil
}

func storeNote(container state.Container) string {
	if container.Store == "" {
		return ""
	}
	return " store=" + container.Store
}

func (h *coreHarness) phases() string {
	var out strings.Builder
	for _, app := range []string{"web", "batch", "broken", "stray"} {
		if phase, ok := h.core.Phase(app); ok {
			fmt.Fprintf(&out, "%s: %s\n", app, phase)
		}
	}
	return out.String()
}
