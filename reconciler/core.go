package reconciler

import (
	"crypto/rand"
	"io"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Core decides, for one node, what the actuators must do to make the actual
// containers match the desired apps, and which lifecycle transitions to
// record. It is a single-owner value: no goroutines, no I/O, no clock. The
// caller gives it the world in an Input and carries out the Ready it returns
// (see the package documentation for the order of those duties).
type Core struct {
	node           string
	restartBackoff state.Backoff
	backoffReset   time.Duration
	// retention is how long a terminated app's status stays.
	retention time.Duration
	random    io.Reader
	apps      map[string]*appState
	// guidFallback numbers GUIDs when random fails, so a broken source
	// degrades to unique names instead of stopping every create.
	guidFallback int
	// claimed: the node was claimed, and stays so for the core's life;
	// held holds the runtime IDs of the containers held last Step.
	claimed bool
	held    map[string]bool
}

// Option configures a Core.
type Option func(*Core)

// WithRestartBackoff sets how long a failed app waits before it restarts.
func WithRestartBackoff(b state.Backoff) Option {
	return func(c *Core) { c.restartBackoff = b.WithDefaults(DefaultRestartBackoff) }
}

// WithBackoffReset sets how long an app must stay ready for its next failure
// to start the backoff over from Backoff.Initial.
func WithBackoffReset(d time.Duration) Option {
	return func(c *Core) { c.backoffReset = d }
}

// DefaultTerminatedRetention is how long a terminated app stays listed
// (its status kept) before the core purges it: long enough to see how it
// ended, short enough that deleted apps do not pile up.
const DefaultTerminatedRetention = time.Hour

// WithTerminatedRetention sets how long a terminated app's status stays
// before it is purged; zero or less keeps the default.
func WithTerminatedRetention(d time.Duration) Option {
	return func(c *Core) {
		if d > 0 {
			c.retention = d
		}
	}
}

// WithRandom sets the source of GUID suffixes. The simulator passes a seeded
// source so that its runs repeat; the default is crypto/rand.
func WithRandom(random io.Reader) Option {
	return func(c *Core) { c.random = random }
}

// NewCore returns the core for node with no app known yet. The first Step
// adopts the lifecycle of each app from the statuses in its view, which is
// how a restarted agent carries on where the previous one stopped.
func NewCore(node string, opts ...Option) *Core {
	c := &Core{
		node:           node,
		restartBackoff: DefaultRestartBackoff,
		backoffReset:   10 * time.Minute,
		retention:      DefaultTerminatedRetention,
		random:         rand.Reader,
		apps:           map[string]*appState{},
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// Node is the node this core reconciles.
func (c *Core) Node() string { return c.node }

// Input is the whole desired and actual state for one Step. The core never
// asks what changed since the last one.
type Input struct {
	// Now is the time of the step: the wall clock on a node, virtual time
	// in the simulator. Backoffs and transition times come from it.
	Now time.Time
	// View is the folded store. Desired apps are View.AppsOn(),
	// desired resources come from View.Decisions[node], and invalid specs
	// from View.Errors. A nil View makes Step do nothing: with no intent
	// known, stopping everything would be wrong.
	View *state.View
	// Containers is what Runtime.List returned.
	Containers []state.Container
	// CPU holds the CPU settings read back from each running container, by
	// container ID. A container missing here gets no set-cpu: its settings
	// are unknown (no controller, or the read failed).
	CPU map[string]state.CPUResources
	// Bandwidth holds each running container's uplink limit, by container
	// ID (a nil value is unlimited). Missing means unknown, as for CPU.
	Bandwidth map[string]*float64
	// NodeLost says the node's heartbeat lease expired. The core then
	// records every live app as lost and acts on nothing (fail static).
	NodeLost bool
	// Failures are the actions of earlier Readys that the actuators
	// refused. A refused create fails its app.
	Failures []ActionFailure
	// Store is the identity of the store View comes from. A container of
	// another store is held: never adopted, stopped or removed, and not
	// counted as any app's. Empty leaves ownership out: every container
	// is the node's (the simulator, which has one store by construction).
	Store string
	// Claimed claims the node as a claim in the view does (View.Claim,
	// which an operator writes with `sluice node reset`): every container
	// on it is this store's from now on, whichever store made it. The core
	// remembers either.
	Claimed bool
}

// Ready is what the caller must do after a Step, in field order.
type Ready struct {
	// Actions are the actuator calls to make, in order. A failed action
	// should delay the later actions on the same ContainerID, and no
	// others; report failures in the next Input.
	Actions []Action
	// Statuses are lifecycle transitions, one per app at most, to write
	// under state.Keys.Status(node, app), sorted by app.
	Statuses []state.AppStatus
	// Purged are the apps whose status to delete: terminated for longer
	// than the retention, with no spec and no container left. The core
	// has forgotten them; one whose delete fails is purged again.
	Purged []string
	// WakeAt, when not zero, is the earliest time a Step would do
	// something new even if nothing else changes (a restart backoff ends).
	WakeAt time.Time
	// Held lists every container the core leaves alone because this
	// store may not own it, whenever one of them is new; nil otherwise.
	// Report them: they run unmanaged until the node is claimed.
	Held []HeldContainer
}

// Converged reports whether the Ready asks for nothing.
func (r Ready) Converged() bool {
	return len(r.Actions) == 0 && len(r.Statuses) == 0 && len(r.Purged) == 0
}

// Forget drops what the core holds of app, so that the next Step adopts it
// again from its stored status: the caller learnt that the status moved on
// without the core (a guarded write found it changed).
func (c *Core) Forget(app string) { delete(c.apps, app) }

// Phase reports the lifecycle phase the core holds for app, and whether it
// knows the app at all.
func (c *Core) Phase(app string) (state.Phase, bool) {
	a, ok := c.apps[app]
	if !ok {
		return phaseNone, false
	}
	return a.life.phase(), true
}

// Step compares desired with actual state and returns what to do. Calling
// it again with the same Input, once the Ready has been carried out, returns
// an empty Ready.
func (c *Core) Step(in Input) Ready {
	if in.View == nil {
		return Ready{}
	}
	owned, held, waiting := c.ownership(in)
	ready := Ready{Held: c.reportHeld(held)}
	if waiting {
		return ready
	}
	in.Containers = owned
	world := c.observe(in)
	for _, name := range world.names {
		c.stepApp(in, world.apps[name], &ready)
	}
	sortActions(ready.Actions)
	return ready
}

func (c *Core) stepApp(in Input, app *appView, ready *Ready) {
	a := c.track(app, in.View)
	a.forgetGone(app)
	if c.expired(in, a, app) {
		ready.Purged = append(ready.Purged, app.name)
		c.Forget(app.name)
		return
	}
	if status, ok := c.transition(in, a, app); ok {
		ready.Statuses = append(ready.Statuses, status)
	}
	if !in.NodeLost {
		ready.Actions = append(ready.Actions, c.actions(in, a, app)...)
	}
	if wake := c.wakeAt(a, app); !wake.IsZero() && (ready.WakeAt.IsZero() || wake.Before(ready.WakeAt)) {
		ready.WakeAt = wake
	}
}

// track returns the core's state for app, adopting it from the app's stored
// status on first sight.
func (c *Core) track(app *appView, view *state.View) *appState {
	if a, ok := c.apps[app.name]; ok {
		return a
	}
	a := newAppState()
	if status, ok := view.Statuses[app.name]; ok {
		a.adopt(status, app)
	}
	c.apps[app.name] = a
	return a
}

// wakeAt is when a failed app's backoff ends, or a terminated app's
// retention, if it is waiting for one.
func (c *Core) wakeAt(a *appState, app *appView) time.Time {
	switch {
	case c.purgeable(a, app):
		return a.since.Add(c.retention)
	case a.life.phase() != state.Failed || app.spec == nil:
		return time.Time{}
	}
	return a.restartAt(c.restartBackoff)
}

// purgeable says app is over: terminated, with nothing left of it.
func (c *Core) purgeable(a *appState, app *appView) bool {
	return a.life.phase() == state.Terminated && app.spec == nil && app.rejected == nil && len(app.all) == 0 && !a.since.IsZero()
}

// expired says app has been purgeable for the retention.
func (c *Core) expired(in Input, a *appState, app *appView) bool {
	return c.purgeable(a, app) && !in.Now.Before(a.since.Add(c.retention))
}
