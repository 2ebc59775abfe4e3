package traces

import (
	"container/list"
	"math/rand/v2"

	"github.com/sluice-io/sluice/state"
)

// Snapshot is one tick's latency: per container (by state.ContainerID)
// from its server spans, and per app from its traces that finished.
type Snapshot struct {
	Containers map[string]state.LatencyStats
	Apps       map[string]state.LatencyStats
}

// Apply writes the snapshot into obs: each container's latency onto its
// ContainerObservation and each app's into obs.Apps.
func (s Snapshot) Apply(obs *state.Observation) {
	for i := range obs.Containers {
		if l, ok := s.Containers[obs.Containers[i].ID]; ok {
			obs.Containers[i].Latency = &l
		}
	}
	for app, l := range s.Apps {
		if obs.Apps == nil {
			obs.Apps = map[string]state.AppObservation{}
		}
		obs.Apps[app] = state.AppObservation{Latency: &l}
	}
}

// bounds are the limits that keep the core's memory bounded whatever the
// span rate.
type bounds struct {
	lingerTicks   int
	maxOpenTraces int
	maxOpenSpans  int
	maxSamples    int
	recentPerApp  int
}

// core turns spans into per-tick latency. It does no I/O, starts no
// goroutine and reads no clock: time advances when snapshot is called,
// and randomness (the reservoir) is seeded. Its owner serialises calls.
type core struct {
	bounds
	resolve Resolver
	metrics *metrics
	rng     *rand.Rand
	tick    uint64

	containers map[string]*latencyWindow
	apps       map[string]*latencyWindow
	open       map[TraceID]*openTrace
	// byAge orders open traces by the tick of their latest span, oldest
	// first, which is both the order they close in and the eviction order.
	byAge     list.List
	openSpans int
	recent    map[string]*recentTraces
}

func newCore(b bounds, resolve Resolver, m *metrics, seed uint64) *core {
	return &core{
		bounds:     b,
		resolve:    resolve,
		metrics:    m,
		rng:        rand.New(rand.NewPCG(seed, seed)),
		containers: map[string]*latencyWindow{},
		apps:       map[string]*latencyWindow{},
		open:       map[TraceID]*openTrace{},
		recent:     map[string]*recentTraces{},
	}
}

// add takes a batch of spans from the queue.
func (c *core) add(spans []Span) {
	unknown := 0
	for i := range spans {
		s := &spans[i]
		b, ok := c.resolve(s.Service)
		if !ok {
			unknown++
			continue
		}
		if s.Kind == KindServer {
			c.window(c.containers, b.Container).add(s.Duration, s.Error, c.rng)
		}
		c.extend(s, b)
	}
	if unknown > 0 {
		c.metrics.dropped.WithLabelValues(DropUnknownService).Add(float64(unknown))
	}
	c.metrics.openTraces.Set(float64(len(c.open)))
}

func (c *core) window(m map[string]*latencyWindow, key string) *latencyWindow {
	w := m[key]
	if w == nil {
		w = &latencyWindow{limit: c.maxSamples}
		m[key] = w
	}
	return w
}

// extend adds s to its open trace, opening one if needed.
func (c *core) extend(s *Span, b Binding) {
	t := c.open[s.Trace]
	if t == nil {
		for len(c.open) >= c.maxOpenTraces {
			c.evictOldest()
		}
		t = &openTrace{id: s.Trace}
		t.age = c.byAge.PushBack(t)
		c.open[s.Trace] = t
	} else {
		c.byAge.MoveToBack(t.age)
	}
	t.lastTick = c.tick
	t.seen++
	r := spanRecord{id: s.ID, parent: s.Parent, start: s.Start, duration: s.Duration,
		name: s.Name, app: b.App, container: b.Container, failed: s.Error}
	if s.Parent.IsZero() {
		t.root, t.hasRoot = r, true
		return
	}
	// Older traces make room for this one's spans; a single trace larger
	// than the bound keeps only the spans that fit (and its root).
	for c.openSpans >= c.maxOpenSpans && c.byAge.Front().Value.(*openTrace) != t {
		c.evictOldest()
	}
	if c.openSpans < c.maxOpenSpans {
		t.spans = append(t.spans, r)
		c.openSpans++
	}
}

func (c *core) evictOldest() {
	t := c.byAge.Front().Value.(*openTrace)
	c.metrics.tracesEvicted.Inc()
	c.close(t, true)
}

// close counts t's end-to-end latency and forgets its spans.
func (c *core) close(t *openTrace, evicted bool) {
	c.byAge.Remove(t.age)
	delete(c.open, t.id)
	c.openSpans -= len(t.spans)
	s := t.summarize()
	s.Evicted = evicted
	s.Tree, s.TreeTruncated = t.tree(s.Start)
	if s.App == "" {
		return
	}
	c.window(c.apps, s.App).add(s.duration, s.Error, c.rng)
	c.metrics.tracesDone.Inc()
	r := c.recent[s.App]
	if r == nil {
		r = &recentTraces{ring: make([]TraceSummary, c.recentPerApp)}
		c.recent[s.App] = r
	}
	r.push(s)
}

// snapshot ends the current tick: it closes the traces that have waited
// long enough for late spans and returns the tick's latency.
func (c *core) snapshot() Snapshot {
	c.tick++
	for e := c.byAge.Front(); e != nil; e = c.byAge.Front() {
		t := e.Value.(*openTrace)
		if c.tick-t.lastTick < uint64(c.lingerTicks) {
			break
		}
		c.close(t, false)
	}
	c.metrics.openTraces.Set(float64(len(c.open)))
	return Snapshot{Containers: drainWindows(c.containers), Apps: drainWindows(c.apps)}
}

// drainWindows summarises and resets the windows, and forgets those that
// saw nothing this tick so that gone containers do not linger.
func drainWindows(windows map[string]*latencyWindow) map[string]state.LatencyStats {
	out := make(map[string]state.LatencyStats, len(windows))
	for key, w := range windows {
		if w.count == 0 {
			delete(windows, key)
			continue
		}
		out[key] = w.stats()
		w.reset()
	}
	return out
}

// flush closes every open trace, as at shutdown, when no late span can
// come any more.
func (c *core) flush() {
	for e := c.byAge.Front(); e != nil; e = c.byAge.Front() {
		c.close(e.Value.(*openTrace), false)
	}
	c.metrics.openTraces.Set(0)
}

func (c *core) recentTraces(app string, limit int) []TraceSummary {
	r := c.recent[app]
	if r == nil {
		return nil
	}
	return r.latest(limit)
}
