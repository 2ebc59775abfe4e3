package docker

import (
	"slices"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/sluice-io/sluice/state"
)

// listMaxAge bounds how long List answers from its last listing: however
// quiet the event stream, the engine is asked again after this long, so a
// change whose event was lost is seen within it.
const listMaxAge = 10 * time.Second

// listChangingActions are the container events after which the engine's
// list reads differently: a container appears or goes, starts or stops.
var listChangingActions = []events.Action{
	events.ActionCreate, events.ActionStart, events.ActionDie, events.ActionOOM,
	events.ActionDestroy, events.ActionPause, events.ActionUnPause, events.ActionRename,
}

// listCache keeps the engine's last answer to List for as long as the
// event stream vouches that nothing has changed since. The sensors list
// the node's containers every tick; on an idle node that listing was the
// agent's largest single cost, and it tells nothing new while no event
// arrives.
//
// A listing is kept only while an event subscription is live (watchers)
// and only if no change was heard of while it was made (gen), so a change
// that raced with the listing is never hidden. The runtime's own actions
// count as changes the moment they return, before their event arrives,
// so a caller that creates a container and lists next sees it.
type listCache struct {
	mu       sync.Mutex
	gen      uint64
	watchers int
	kept     []state.Container
	keptGen  uint64
	keptAt   time.Time
	hasKept  bool
}

// get returns the kept listing if it still holds at now, else false and
// the generation a fresh listing must be stored under.
func (c *listCache) get(now time.Time) ([]state.Container, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchers > 0 && c.hasKept && c.keptGen == c.gen && now.Sub(c.keptAt) < listMaxAge {
		return slices.Clone(c.kept), c.gen, true
	}
	return nil, c.gen, false
}

// put keeps a listing made at now from generation gen, unless something
// changed meanwhile or no subscription would say when it goes stale.
func (c *listCache) put(listed []state.Container, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchers == 0 || gen != c.gen {
		return
	}
	c.kept, c.keptGen, c.keptAt, c.hasKept = slices.Clone(listed), gen, now, true
}

// changed drops the kept listing: a container event arrived or the
// runtime changed a container itself.
func (c *listCache) changed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.hasKept = false
}

// watch counts event subscriptions in (+1, once the engine has answered)
// and out (-1, when one breaks or ends). While none is live, every List
// asks the engine; a listing made across either change is not kept.
func (c *listCache) watch(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers += delta
	c.gen++
	c.hasKept = false
}
