package reconciler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// HeldContainer is a container the core leaves alone because this store
// may not own it, and why.
type HeldContainer struct {
	Container state.Container
	Reason    string
}

func (h HeldContainer) String() string {
	return fmt.Sprintf("%s runtime-id=%s (%s)", h.Container.ID, shortRuntimeID(h.Container.RuntimeID), h.Reason)
}

func shortRuntimeID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ownership splits the containers into those the core may act on and those
// it must hold, and reports whether the whole node waits for a claim.
//
// A container of another store is held: that store's agent owns it. One
// made before stores had an identity (no Store) counts as this store's, for
// until then a node had one store by construction and an upgrade must not
// orphan every running app; the next rule keeps that safe. When the store
// knows nothing of this node (no status of it, no spec pinned to it) and the
// core has tracked nothing yet, yet the node has containers (a fresh store
// on an old node, keys deleted by hand, a store upgraded from the flat key
// space), the store has forgotten the node rather than asked for its
// containers to go: everything is held and nothing is done until the node
// is claimed or its specs are put again. Unpinned specs do not count: every
// node runs them, so they say nothing of this one.
func (c *Core) ownership(in Input) (owned []state.Container, held []HeldContainer, waiting bool) {
	if in.Claimed || in.View.Claim != nil {
		c.claimed = true
	}
	if in.Store == "" || c.claimed {
		return in.Containers, nil, false
	}
	for _, container := range sortedContainers(in.Containers) {
		if container.Store != "" && container.Store != in.Store {
			held = append(held, HeldContainer{Container: container, Reason: "created by store " + container.Store})
			continue
		}
		owned = append(owned, container)
	}
	if len(owned) == 0 || len(c.apps) > 0 || c.storeKnowsNode(in.View) {
		return owned, held, false
	}
	reason := fmt.Sprintf("store %s has no status of node %s and no spec pinned to it", in.Store, c.node)
	for _, container := range owned {
		held = append(held, HeldContainer{Container: container, Reason: reason})
	}
	sort.SliceStable(held, func(i, j int) bool { return held[i].Container.ID < held[j].Container.ID })
	return nil, held, true
}

// storeKnowsNode says whether the view holds a status of the node or a spec
// pinned to it.
func (c *Core) storeKnowsNode(view *state.View) bool {
	if len(view.Statuses) > 0 {
		return true
	}
	for _, spec := range view.Apps {
		if spec.Node == c.node {
			return true
		}
	}
	return false
}

// reportHeld returns the held containers when one of them was not held in
// the previous Step, so that the caller reports each container once and
// every report shows the whole list; nil otherwise.
func (c *Core) reportHeld(held []HeldContainer) []HeldContainer {
	now := make(map[string]bool, len(held))
	grew := false
	for _, h := range held {
		now[h.Container.RuntimeID] = true
		grew = grew || !c.held[h.Container.RuntimeID]
	}
	c.held = now
	if !grew {
		return nil
	}
	return held
}

// logClaim says, once, that the node was claimed and what the claim says:
// from this pass on the core takes every container on it as this store's.
func (r *Runner) logClaim(wasClaimed bool) {
	if wasClaimed || !r.core.claimed {
		return
	}
	if claim := r.view.Claim; claim != nil {
		r.log.Warn("the node is claimed: every container on it is now this store's, to adopt or remove",
			"claimed_at", claim.Time, "reason", claim.Reason)
		return
	}
	r.log.Warn("claiming every container on the node for this store, as asked at start")
}

// logHeld reports the containers the core holds, loudly: until an operator
// claims the node they run unmanaged.
func (r *Runner) logHeld(held []HeldContainer) {
	if len(held) == 0 {
		return
	}
	described := make([]string, len(held))
	for i, h := range held {
		described[i] = h.String()
	}
	r.log.Warn("leaving alone containers this store may not own; `sluice node reset "+r.cfg.Node+"` claims them",
		"count", len(held), "containers", strings.Join(described, "; "))
}
