package ui

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sluice-io/sluice/state"
)

// ring keeps the latest values pushed, at most its capacity.
type ring[T any] struct {
	items []T
	next  int
	full  bool
}

func newRing[T any](capacity int) *ring[T] { return &ring[T]{items: make([]T, capacity)} }

func (r *ring[T]) push(v T) {
	r.items[r.next] = v
	r.next = (r.next + 1) % len(r.items)
	r.full = r.full || r.next == 0
}

// last is the newest value, if any.
func (r *ring[T]) last() (*T, bool) {
	if !r.full && r.next == 0 {
		return nil, false
	}
	return &r.items[(r.next-1+len(r.items))%len(r.items)], true
}

// all returns the values oldest first, in a new slice.
func (r *ring[T]) all() []T {
	if !r.full {
		return append([]T(nil), r.items[:r.next]...)
	}
	return append(append([]T(nil), r.items[r.next:]...), r.items[:r.next]...)
}

// sample is one app at one observation.
type sample struct {
	Time       time.Time
	Containers map[string]containerSample
	// Latency is the app's end-to-end latency over the interval, or, where
	// no trace measured that (the simulator), what its latency-critical
	// container served.
	Latency *state.LatencyStats
}

// containerSample is one container at one observation, with the decision
// made on it.
type containerSample struct {
	UsedCores, WantedCores float64
	// QuotaCores and Shares are the settings in force.
	QuotaCores *float64
	Shares     uint64
	TxMbit     float64
	Decided    state.ContainerDecision
}

// decisionRecord is a decision the node made, as the pages list it.
type decisionRecord struct {
	Revision     int64
	Time         time.Time
	BundleDigest string
	Containers   map[string]state.ContainerDecision
	Reasons      []state.Reason
}

const maxDecisions = 64

// history is what the pages show over time: per app a ring of samples,
// and the node's latest decisions. Its methods are safe for concurrent use.
type history struct {
	node     string
	capacity int

	mu        sync.Mutex
	apps      map[string]*ring[sample]
	decisions *ring[decisionRecord]
	// observed is the time of the last observation sampled, on the node's
	// clock; seenAt is when it arrived, on the wall clock.
	observed time.Time
	seenAt   time.Time
	decided  int64
}

func newHistory(node string, capacity int) *history {
	return &history{node: node, capacity: capacity, apps: map[string]*ring[sample]{}, decisions: newRing[decisionRecord](maxDecisions)}
}

// record takes what is new in view: an observation becomes a sample per
// app, a new decision is listed and fills in the samples it was made on.
// now is when it arrived.
func (h *history) record(view *state.View, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if obs, ok := view.Observations[h.node]; ok && obs.Time.After(h.observed) {
		h.observed, h.seenAt = obs.Time, now
		h.sample(obs, view.Decisions[h.node])
		h.forgetGone(view, obs)
	}
	if d, ok := view.Decisions[h.node]; ok && d.Revision != h.decided {
		h.decided = d.Revision
		h.decisions.push(decisionRecord{Revision: d.Revision, Time: d.Time, BundleDigest: d.BundleDigest,
			Containers: d.Containers, Reasons: d.Reasons})
		h.fillDecided(d)
	}
}

func (h *history) sample(obs state.Observation, decision state.Decision) {
	samples := map[string]*sample{}
	for _, c := range obs.Containers {
		s := samples[c.App]
		if s == nil {
			s = &sample{Time: obs.Time, Containers: map[string]containerSample{}}
			samples[c.App] = s
		}
		if s.Latency == nil && c.Class == state.LatencyCritical {
			s.Latency = c.Latency
		}
		txMbit := 0.0
		if obs.IntervalSeconds > 0 {
			txMbit = float64(c.NetTxBytes) * 8 / 1e6 / obs.IntervalSeconds
		}
		s.Containers[c.ID] = containerSample{
			UsedCores: c.CPUUsageCores, WantedCores: c.CPUUsageCores + c.RunQueueWaitCores,
			QuotaCores: c.CPUQuotaCores, Shares: c.CPUShares, TxMbit: txMbit, Decided: decision.Containers[c.ID],
		}
	}
	for app, s := range samples {
		if a, ok := obs.Apps[app]; ok && a.Latency != nil {
			s.Latency = a.Latency
		}
		r := h.apps[app]
		if r == nil {
			r = newRing[sample](h.capacity)
			h.apps[app] = r
		}
		r.push(*s)
	}
}

// fillDecided sets the decision in the latest samples: it was made on the
// view that holds their observation.
func (h *history) fillDecided(d state.Decision) {
	for _, r := range h.apps {
		last, ok := r.last()
		if !ok || !last.Time.Equal(h.observed) {
			continue
		}
		// A new map: readers may hold the old one, outside the lock.
		containers := maps.Clone(last.Containers)
		for id, c := range containers {
			c.Decided = d.Containers[id]
			containers[id] = c
		}
		last.Containers = containers
	}
}

// forgetGone drops the samples of apps the node no longer has, so that
// memory follows the node's apps.
func (h *history) forgetGone(view *state.View, obs state.Observation) {
	running := map[string]bool{}
	for _, c := range obs.Containers {
		running[c.App] = true
	}
	for app := range h.apps {
		_, specified := view.Apps[app]
		if !specified && !running[app] {
			delete(h.apps, app)
		}
	}
}

// samples returns app's samples, oldest first.
func (h *history) samples(app string) []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.apps[app]; r != nil {
		return r.all()
	}
	return nil
}

// recentDecisions returns the latest decisions, newest first.
func (h *history) recentDecisions() []decisionRecord {
	h.mu.Lock()
	all := h.decisions.all()
	h.mu.Unlock()
	slices.Reverse(all)
	return all
}

// lastSeen is when the latest observation arrived, on the wall clock.
func (h *history) lastSeen() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seenAt
}
