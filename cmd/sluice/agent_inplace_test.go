package main

import (
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// TestDockerQuotaEditInPlace edits the CPU quota of a running app's spec:
// the cgroup takes the new quota within one interval, the container keeps
// its ID and GUID, its status answers the new spec revision, and the
// engine's record agrees within 5 s.
func TestDockerQuotaEditInPlace(t *testing.T) {
	n := newDockerNode(t)
	const interval = time.Second
	n.startAgent(func(ao *agentOptions) { ao.interval = interval })
	spec := idleSpec("edit")
	spec.Containers[0].Resources.CPUQuotaCores = new(0.5)
	n.apply(spec)
	ready := n.waitPhase("edit", state.Ready)
	before := ready.Containers[0]
	if got := n.cgroupSettings(before.RuntimeID).quotaMicros; got != 50_000 {
		t.Fatalf("cgroup quota %d µs, want the spec's 50000", got)
	}

	spec.Containers[0].Resources.CPUQuotaCores = new(0.25)
	n.apply(spec)
	edited := time.Now()
	waitUntil(t, 5*time.Second, "the cgroup to take the new quota", func() bool {
		return n.cgroupSettings(before.RuntimeID).quotaMicros == 25_000
	})
	if took := time.Since(edited); took > interval {
		t.Errorf("the cgroup took %v to take the new quota, over one interval (%v)", took, interval)
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
