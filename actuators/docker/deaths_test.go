package docker

import (
	"testing"

	"github.com/sluice-io/sluice/state"
)

func running(runtimeID string) state.Container {
	return state.Container{ID: "web/server", RuntimeID: runtimeID, Running: true}
}

func TestDeathsBelieveTheDieEventUntilTheEngineAgrees(t *testing.T) {
	var d deaths
	d.record("a", state.ContainerEvent{Action: "oom"})
	d.record("a", state.ContainerEvent{Action: "die", ExitCode: 137})
	d.record("b", state.ContainerEvent{Action: "die", ExitCode: 1})

	c := running("a")
	if !d.correct(&c) || c.Running || c.ExitCode != 137 || !c.OOMKilled {
		t.Errorf("after oom and die, a lists as %+v, want stopped, OOM-killed, exit code 137", c)
	}
	other := running("c")
	if d.correct(&other) || !other.Running {
		t.Errorf("c, of which no event spoke, lists as %+v", other)
	}

	// The engine still lists a running and has removed b: b goes, a stays.
	d.prune(d.mark(), map[string]bool{"a": true})
	if _, ok := d.byID["b"]; ok {
		t.Error("b, gone from the engine's list, is still remembered")
	}
	c = running("a")
	if !d.correct(&c) {
		t.Error("a, still listed running by a lagging engine, is no longer believed dead")
	}
	// Now the engine lists a stopped.
	d.prune(d.mark(), map[string]bool{"a": false})
	if len(d.byID) != 0 {
		t.Errorf("remembered after the engine agreed: %v", d.byID)
	}
}

func TestDeathsPruneOnlyWhatTheListingCouldHaveSeen(t *testing.T) {
	var d deaths
	mark := d.mark()
	// The container dies while the listing is on its way: the listing
	// predates it, so it must not prune the death.
	d.record("a", state.ContainerEvent{Action: "die", ExitCode: 137})
	d.prune(mark, map[string]bool{})
	if c := running("a"); !d.correct(&c) {
		t.Error("a death recorded after the listing began was pruned by it")
	}
}

func TestDeathsForgetAContainerThatStartsAgain(t *testing.T) {
	var d deaths
	d.record("a", state.ContainerEvent{Action: "die", ExitCode: 0})
	d.record("a", state.ContainerEvent{Action: "start"})
	if c := running("a"); d.correct(&c) || len(d.byID) != 0 {
		t.Errorf("a restarted container is still believed dead: %+v, %v", c, d.byID)
	}
}

func TestDeathsLeaveARunningContainerAfterAnOOMOfAChild(t *testing.T) {
	var d deaths
	// The kernel killed a child process; the container runs on.
	d.record("a", state.ContainerEvent{Action: "oom"})
	if c := running("a"); d.correct(&c) || !c.Running {
		t.Errorf("an oom without a die stopped the container: %+v", c)
	}
}
