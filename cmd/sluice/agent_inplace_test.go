package main

import (
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// tickCounter counts the agent's ticks and notes the tick at which the
// first set-cpu of a container was done.
type tickCounter struct {
	mu    sync.Mutex
	ticks int
	setAt map[string]int
}

func (c *tickCounter) observationWriting(state.Observation) {
	c.mu.Lock()
	c.ticks++
	c.mu.Unlock()
}

func (c *tickCounter) actionDone(action reconciler.Action, _ *state.View) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.setAt[action.ContainerID]; action.Kind == reconciler.ActionSetCPU && !seen {
		c.setAt[action.ContainerID] = c.ticks
	}
}

// now is the tick count, and forgets the set-cpus done so far.
func (c *tickCounter) now() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.setAt)
	return c.ticks
}

func (c *tickCounter) setCPUAt(id string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tick, ok := c.setAt[id]
	return tick, ok
}

// TestDockerQuotaEditInPlace edits the CPU quota of a running app's spec:
// the cgroup takes the new quota within one of the agent's intervals
// (counted in its ticks, so a loaded machine does not fail the test), the
// container keeps its ID and GUID, its status answers the new spec
// revision, and the engine's record agrees within 5 s.
func TestDockerQuotaEditInPlace(t *testing.T) {
	n := newDockerNode(t)
	counter := &tickCounter{setAt: map[string]int{}}
	n.startAgent(func(ao *agentOptions) {
		ao.interval = time.Second
		ao.hooks = agent.Hooks{ObservationWriting: counter.observationWriting, ActionDone: counter.actionDone}
	})
	spec := idleSpec("edit")
	spec.Containers[0].Resources.CPUQuotaCores = new(0.5)
	n.apply(spec)
	ready := n.waitPhase("edit", state.Ready)
	before := ready.Containers[0]
	if got := n.cgroupSettings(before.RuntimeID).quotaMicros; got != 50_000 {
		t.Fatalf("cgroup quota %d µs, want the spec's 50000", got)
	}

	spec.Containers[0].Resources.CPUQuotaCores = new(0.25)
	tickAtEdit := counter.now()
	n.apply(spec)
	edited := time.Now()
	waitUntil(t, 10*time.Second, "the cgroup to take the new quota", func() bool {
		return n.cgroupSettings(before.RuntimeID).quotaMicros == 25_000
	})
	if tick, ok := counter.setCPUAt("edit/sink"); !ok || tick-tickAtEdit > 1 {
		t.Errorf("set-cpu of edit/sink at tick %d (done: %v), edited at tick %d: over one interval", tick, ok, tickAtEdit)
	}
	waitUntil(t, 5*time.Second-time.Since(edited), "docker inspect to show the new quota", func() bool {
		res, found := n.inspect(before.RuntimeID)
		return found && res.Container.HostConfig.CPUQuota == 25_000
	})
	var after state.AppStatus
	waitUntil(t, 5*time.Second, "the status to answer the edited spec", func() bool {
		after = n.status("edit")
		return after.SpecRevision > ready.SpecRevision
	})
	if after.Phase != state.Ready || len(after.Containers) != 1 ||
		after.Containers[0].RuntimeID != before.RuntimeID || after.Containers[0].GUID != before.GUID {
		t.Fatalf("after the edit: %+v, want ready on container %s with GUID %s", after, before.RuntimeID, before.GUID)
	}
	if byID := n.containersByLabel(); len(byID["edit/sink"]) != 1 {
		t.Errorf("containers of edit/sink: %v, want the one", byID["edit/sink"])
	}
}
