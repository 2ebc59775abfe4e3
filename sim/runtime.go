package sim

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluice-io/sluice/sim/cpu"
	"github.com/sluice-io/sluice/sim/demand"
	"github.com/sluice-io/sluice/state"
)

// List returns every container on the node, running or not, sorted by ID.
func (n *Node) List(ctx context.Context) ([]state.Container, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", n.name, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]state.Container, len(n.all))
	for i, c := range n.all {
		out[i] = c.asReconciler()
	}
	return out, nil
}

// Create creates a container for spec and starts it at the current
// virtual time: its demand generator's time zero.
func (n *Node) Create(ctx context.Context, app string, spec state.ContainerSpec, guid, specHash string) (state.Container, error) {
	id := state.ContainerID(app, spec.Name)
	if err := ctx.Err(); err != nil {
		return state.Container{}, fmt.Errorf("create %s: %w", id, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byID(id) != nil {
		return state.Container{}, fmt.Errorf("create %s: %w", id, ErrConflict)
	}
	c, err := n.newContainer(app, spec, guid, specHash)
	if err != nil {
		return state.Container{}, fmt.Errorf("create %s: %w", id, err)
	}
	at, _ := n.index(id)
	n.all = slices.Insert(n.all, at, c)
	n.log.Info("container started", "id", id, "runtime_id", c.runtimeID, "cpuset", c.cpuset, "class", c.class)
	return c.asReconciler(), nil
}

func (n *Node) newContainer(app string, spec state.ContainerSpec, guid, specHash string) (*container, error) {
	// A lone container has no parent to check; the app's own validation did.
	alone := spec
	alone.Parent = ""
	if err := (state.AppSpec{Name: app, Containers: []state.ContainerSpec{alone}}).Validate(); err != nil {
		return nil, err
	}
	mask, err := n.cpusetMask(spec.CPUSet)
	if err != nil {
		return nil, err
	}
	if err := n.checkMasks(mask, nil); err != nil {
		return nil, err
	}
	var load demand.Generator = demand.Constant{}
	if spec.Demand != nil {
		if load, err = demand.FromSpec(*spec.Demand, n.files); err != nil {
			return nil, err
		}
	}
	n.created++
	c := &container{
		id: state.ContainerID(app, spec.Name), app: app, name: spec.Name, guid: guid,
		runtimeID: fmt.Sprintf("%s-%06d", n.name, n.created), specHash: specHash,
		class: spec.Class, cpuset: mask.String(), mask: mask, shares: cpu.DefaultShares,
		quota: copyFloat(spec.Resources.CPUQuotaCores), netCap: copyFloat(spec.Resources.NetMbit),
		load: load, started: n.clock.Now(), running: true,
	}
	if spec.Resources.CPUShares != nil {
		c.shares = *spec.Resources.CPUShares
	}
	if c.class == state.LatencyCritical {
		c.queue = &WorkQueue{}
		if spec.Demand != nil {
			c.queue.RequestCPUSeconds = spec.Demand.RequestCPUMs / 1e3
		}
	}
	return c, nil
}

// Stop stops a container; its CPU use ends with the current tick. Stopping
// a stopped container succeeds.
func (n *Node) Stop(ctx context.Context, rc state.Container) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stop %s: %w", rc.ID, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return fmt.Errorf("stop %s: %w", rc.ID, ErrNotFound)
	}
	if c.running {
		c.running, c.exitCode = false, 0
		n.log.Info("container stopped", "id", c.id)
	}
	return nil
}

// Remove deletes a container, running or not. Removing a missing one
// succeeds.
func (n *Node) Remove(ctx context.Context, rc state.Container) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("remove %s: %w", rc.ID, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return nil
	}
	n.all = slices.DeleteFunc(n.all, func(x *container) bool { return x == c })
	n.log.Info("container removed", "id", c.id)
	return nil
}

func copyFloat(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
