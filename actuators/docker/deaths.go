package docker

import (
	"sync"

	"github.com/moby/moby/api/types/events"

	"github.com/sluice-io/sluice/state"
)

// deaths remembers the containers Docker's event stream reported dead that
// the engine's list may still show running.
//
// The engine sends a container's die event before it has finished
// cleaning up after it (network, mounts) and only then updates the
// snapshot that ContainerList reads, so for a while, on a loaded node for
// hundreds of milliseconds, the list still says "running". The pass that
// the die event wakes would then find nothing wrong, and the death would
// wait for the next resync. Believing the event closes that window: List
// reports a container the stream saw die as stopped, with the event's exit
// code, until the engine agrees.
//
// An oom event comes before the die it causes and is kept so that the die
// can say the container was OOM-killed, which the engine's die event does
// not. Entries go when a List finds the container stopped or gone, so the
// set holds at most the containers that died since the last List, and the
// ones still running after an oom.
type deaths struct {
	mu sync.Mutex
	// seq numbers the records, so that a List prunes only what was known
	// before it asked the engine.
	seq  uint64
	byID map[string]death
}

type death struct {
	seq      uint64
	died     bool
	exitCode int
	oom      bool
}

// record takes note of one of this node's container events; runtimeID is
// the engine's ID of the container, ev the event as passed on.
func (d *deaths) record(runtimeID string, ev state.ContainerEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byID == nil {
		d.byID = map[string]death{}
	}
	d.seq++
	entry := d.byID[runtimeID]
	entry.seq = d.seq
	switch events.Action(ev.Action) {
	case events.ActionStart:
		delete(d.byID, runtimeID)
		return
	case events.ActionOOM:
		entry.oom = true
	case events.ActionDie:
		entry.died, entry.exitCode = true, ev.ExitCode
	}
	d.byID[runtimeID] = entry
}

// mark is the point a List starts from: what was recorded up to here may
// be pruned by what the List finds.
func (d *deaths) mark() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seq
}

// correct marks c stopped, with the death's exit code, if the engine lists
// it running but the event stream saw it die, and reports whether it did.
func (d *deaths) correct(c *state.Container) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	entry, ok := d.byID[c.RuntimeID]
	if !ok || !entry.died || !c.Running {
		return false
	}
	c.Running, c.ExitCode, c.OOMKilled = false, entry.exitCode, entry.oom
	return true
}

// prune drops what was recorded up to mark for every container the engine
// no longer lists as running: it agrees now, or the container is gone.
func (d *deaths) prune(mark uint64, engineRunning map[string]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for runtimeID, entry := range d.byID {
		if entry.seq <= mark && !engineRunning[runtimeID] {
			delete(d.byID, runtimeID)
		}
	}
}
