// Package fake holds recording fakes of the reconciler's actuators, for the
// reconciler's own tests and for any test that needs a node without Docker
// or cgroups. A Runtime keeps its containers in memory with their CPU and
// bandwidth settings; CPU and Bandwidth read and write those settings; all
// three append every write to one ordered log of Calls.
package fake

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

var (
	_ reconciler.Runtime             = (*Runtime)(nil)
	_ reconciler.RuntimeEvents       = (*Runtime)(nil)
	_ reconciler.CPUController       = (*CPU)(nil)
	_ reconciler.BandwidthController = (*Bandwidth)(nil)
)

// ErrNoSuchContainer is returned when reading the settings of a container
// the runtime does not hold.
var ErrNoSuchContainer = errors.New("no such container")

// Call is one write an actuator received. Op is the reconciler.ActionKind
// it corresponds to.
type Call struct {
	Op          string
	ContainerID string
	// Detail is what was written, in the reconciler's own notation.
	Detail string
	// Err is the error the fake returned, empty on success.
	Err string
}

func (c Call) String() string {
	s := c.Op + " " + c.ContainerID
	if c.Detail != "" {
		s += " " + c.Detail
	}
	if c.Err != "" {
		s += " -> error: " + c.Err
	}
	return s
}

type entry struct {
	container state.Container
	cpu       state.CPUResources
	bandwidth *float64
}

// Runtime is an in-memory container runtime. Create applies the spec's
// cpuset and initial CPU resources, as Docker does; bandwidth starts
// unlimited, as a fresh veth has no qdisc.
type Runtime struct {
	// Store is the store identity Create labels containers with, as the
	// Docker runtime's Config.Store; set it before the first Create.
	Store string

	mu          sync.Mutex
	lastID      int
	entries     []*entry
	calls       []Call
	failures    map[string][]error
	subscribers []chan state.ContainerEvent
}

// NewRuntime returns an empty runtime.
func NewRuntime() *Runtime {
	return &Runtime{failures: map[string][]error{}}
}

// Fail makes the next `times` calls of op ("create", "stop", "remove",
// "set-cpu", "set-bandwidth", or "list" with an empty containerID) on
// containerID return err.
func (r *Runtime) Fail(op, containerID string, err error, times int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := op + " " + containerID
	for range times {
		r.failures[key] = append(r.failures[key], err)
	}
}

// Add puts a container in place as if an earlier agent had created it, for
// adoption tests. An empty RuntimeID gets a fresh one.
func (r *Runtime) Add(container state.Container, cpu state.CPUResources) state.Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	if container.RuntimeID == "" {
		container.RuntimeID = r.newRuntimeID()
	}
	r.entries = append(r.entries, &entry{container: container, cpu: cpu})
	return container
}

// Kill makes the running container with sluice ID id exit, as a crash or
// the OOM killer would, and tells the event subscribers.
func (r *Runtime) Kill(id string, exitCode int, oom bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.container.ID == id && e.container.Running {
			e.container.Running = false
			e.container.ExitCode = exitCode
			e.container.OOMKilled = oom
			action := "die"
			if oom {
				action = "oom"
			}
			r.publish(state.ContainerEvent{ContainerID: id, Action: action, ExitCode: exitCode})
			return nil
		}
	}
	return fmt.Errorf("kill %s: %w", id, ErrNoSuchContainer)
}

// Calls returns the writes received so far, in order.
func (r *Runtime) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// ResetCalls forgets the recorded calls.
func (r *Runtime) ResetCalls() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// CountCalls counts recorded calls of op on containerID.
func (r *Runtime) CountCalls(op, containerID string) int {
	n := 0
	for _, call := range r.Calls() {
		if call.Op == op && call.ContainerID == containerID && call.Err == "" {
			n++
		}
	}
	return n
}

// List returns every container, sorted by ID and runtime ID.
func (r *Runtime) List(ctx context.Context) ([]state.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.injected("list", ""); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]state.Container, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e.container)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].RuntimeID < out[j].RuntimeID
	})
	return out, nil
}

// Create creates and starts a container.
func (r *Runtime) Create(ctx context.Context, app string, spec state.ContainerSpec, guid, specHash string) (state.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := state.ContainerID(app, spec.Name)
	detail := fmt.Sprintf("image=%s guid=%s hash=%s", spec.Image, guid, specHash)
	if err := r.record("create", id, detail); err != nil {
		return state.Container{}, fmt.Errorf("create %s: %w", id, err)
	}
	container := state.Container{
		ID: id, App: app, Name: spec.Name, GUID: guid, RuntimeID: r.newRuntimeID(), Running: true, SpecHash: specHash,
		Store: r.Store,
	}
	cpu := state.CPUResources{
		QuotaCores: spec.Resources.CPUQuotaCores, Shares: spec.Resources.CPUShares, CPUSet: spec.CPUSet,
	}
	r.entries = append(r.entries, &entry{container: container, cpu: cpu})
	return container, nil
}

// Stop stops a container; a missing or stopped one is fine.
func (r *Runtime) Stop(ctx context.Context, c state.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("stop", c.ID, c.RuntimeID); err != nil {
		return fmt.Errorf("stop %s (%s): %w", c.ID, c.RuntimeID, err)
	}
	if e := r.find(c.RuntimeID); e != nil && e.container.Running {
		e.container.Running = false
		e.container.ExitCode = 0
	}
	return nil
}

// Remove deletes a stopped container; a missing one is fine, a running one
// is refused, as Docker refuses without force.
func (r *Runtime) Remove(ctx context.Context, c state.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.find(c.RuntimeID); e != nil && e.container.Running {
		err := fmt.Errorf("remove %s (%s): container is running", c.ID, c.RuntimeID)
		r.calls = append(r.calls, Call{Op: "remove", ContainerID: c.ID, Detail: c.RuntimeID, Err: err.Error()})
		return err
	}
	if err := r.record("remove", c.ID, c.RuntimeID); err != nil {
		return fmt.Errorf("remove %s (%s): %w", c.ID, c.RuntimeID, err)
	}
	for i, e := range r.entries {
		if e.container.RuntimeID == c.RuntimeID {
			r.entries = append(r.entries[:i], r.entries[i+1:]...)
			break
		}
	}
	return nil
}

// Events streams die and oom events until ctx ends. Events that find the
// subscriber's buffer full are dropped: they only wake the reconciler,
// which reads the state itself.
func (r *Runtime) Events(ctx context.Context) <-chan state.ContainerEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan state.ContainerEvent, 64)
	r.subscribers = append(r.subscribers, ch)
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		defer r.mu.Unlock()
		for i, sub := range r.subscribers {
			if sub == ch {
				r.subscribers = append(r.subscribers[:i], r.subscribers[i+1:]...)
				close(ch)
				break
			}
		}
	}()
	return ch
}

func (r *Runtime) publish(ev state.ContainerEvent) {
	for _, sub := range r.subscribers {
		select {
		case sub <- ev:
		default:
		}
	}
}

func (r *Runtime) newRuntimeID() string {
	r.lastID++
	return fmt.Sprintf("rt-%d", r.lastID)
}

func (r *Runtime) find(runtimeID string) *entry {
	for _, e := range r.entries {
		if e.container.RuntimeID == runtimeID {
			return e
		}
	}
	return nil
}

// record logs a write and returns the injected failure for it, if any.
func (r *Runtime) record(op, containerID, detail string) error {
	err := r.injected(op, containerID)
	call := Call{Op: op, ContainerID: containerID, Detail: detail}
	if err != nil {
		call.Err = err.Error()
	}
	r.calls = append(r.calls, call)
	return err
}

func (r *Runtime) injected(op, containerID string) error {
	key := op + " " + containerID
	queue := r.failures[key]
	if len(queue) == 0 {
		return nil
	}
	r.failures[key] = queue[1:]
	return queue[0]
}

// SetActualCPU changes a container's CPU settings behind the reconciler's
// back, as an operator with a shell might.
func (r *Runtime) SetActualCPU(id string, cpu state.CPUResources) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.container.ID == id {
			e.cpu = cpu
			return nil
		}
	}
	return fmt.Errorf("set cpu of %s: %w", id, ErrNoSuchContainer)
}

// CPU reads and writes the CPU settings a Runtime holds.
type CPU struct{ runtime *Runtime }

// NewCPU returns the CPU controller of runtime's containers.
func NewCPU(runtime *Runtime) *CPU { return &CPU{runtime: runtime} }

// CPU returns the container's settings.
func (c *CPU) CPU(ctx context.Context, container state.Container) (state.CPUResources, error) {
	r := c.runtime
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.find(container.RuntimeID)
	if e == nil {
		return state.CPUResources{}, fmt.Errorf("read cpu of %s (%s): %w", container.ID, container.RuntimeID, ErrNoSuchContainer)
	}
	return e.cpu, nil
}

// SetCPU writes the settings: the quota always (nil lifts it), shares and
// cpuset only when given.
func (c *CPU) SetCPU(ctx context.Context, container state.Container, res state.CPUResources) error {
	r := c.runtime
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.record("set-cpu", container.ID, res.String()); err != nil {
		return fmt.Errorf("set cpu of %s: %w", container.ID, err)
	}
	e := r.find(container.RuntimeID)
	if e == nil {
		return fmt.Errorf("set cpu of %s (%s): %w", container.ID, container.RuntimeID, ErrNoSuchContainer)
	}
	e.cpu.QuotaCores = res.QuotaCores
	if res.Shares != nil {
		e.cpu.Shares = res.Shares
	}
	if res.CPUSet != "" {
		e.cpu.CPUSet = res.CPUSet
	}
	return nil
}

// Bandwidth reads and writes the bandwidth limits a Runtime holds.
type Bandwidth struct{ runtime *Runtime }

// NewBandwidth returns the bandwidth controller of runtime's containers.
func NewBandwidth(runtime *Runtime) *Bandwidth { return &Bandwidth{runtime: runtime} }

// Bandwidth returns the container's limit in Mbit/s, nil for none.
func (b *Bandwidth) Bandwidth(ctx context.Context, container state.Container) (*float64, error) {
	r := b.runtime
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.find(container.RuntimeID)
	if e == nil {
		return nil, fmt.Errorf("read bandwidth of %s (%s): %w", container.ID, container.RuntimeID, ErrNoSuchContainer)
	}
	return e.bandwidth, nil
}

// SetBandwidth writes the limit; nil lifts it.
func (b *Bandwidth) SetBandwidth(ctx context.Context, container state.Container, mbit *float64) error {
	r := b.runtime
	r.mu.Lock()
	defer r.mu.Unlock()
	detail := "mbit=unlimited"
	if mbit != nil {
		detail = fmt.Sprintf("mbit=%g", *mbit)
	}
	if err := r.record("set-bandwidth", container.ID, detail); err != nil {
		return fmt.Errorf("set bandwidth of %s: %w", container.ID, err)
	}
	e := r.find(container.RuntimeID)
	if e == nil {
		return fmt.Errorf("set bandwidth of %s (%s): %w", container.ID, container.RuntimeID, ErrNoSuchContainer)
	}
	if mbit != nil {
		limit := *mbit
		mbit = &limit
	}
	e.bandwidth = mbit
	return nil
}

// FormatCalls renders calls one per line, for test output.
func FormatCalls(calls []Call) string {
	lines := make([]string, len(calls))
	for i, call := range calls {
		lines[i] = call.String()
	}
	return strings.Join(lines, "\n")
}
