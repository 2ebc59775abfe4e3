package sim

import (
	"math"
	"slices"
	"time"

	"github.com/sluice-io/sluice/sim/cpu"
	"github.com/sluice-io/sluice/state"
)

// ContainerTick is the simulator's ground truth about one running
// container over the last tick: what a real node cannot measure directly
// (the demand) next to what it can. Rates are in cores.
type ContainerTick struct {
	ID    string      `json:"id"`
	Class state.Class `json:"class"`
	// Demand is the generator's demand over the tick: for a work queue the
	// rate at which work arrived.
	Demand float64 `json:"demand_cores"`
	// Offered is what the CPU model was asked for: Demand, or for a work
	// queue what it held (backlog + arrivals) spread over the tick.
	Offered          float64 `json:"offered_cores"`
	Usage            float64 `json:"usage_cores"`
	Wait             float64 `json:"wait_cores"`
	ThrottledSeconds float64 `json:"throttled_seconds"`
	// Limit names what held the usage: idle, demand, quota, cpuset or contention.
	Limit      string            `json:"limit"`
	QuotaCores *float64          `json:"quota_cores,omitempty"`
	Shares     uint64            `json:"shares"`
	CPUSet     string            `json:"cpuset,omitempty"`
	Work       *state.WorkReport `json:"work,omitempty"`
	// Latency is the latency model's account of the requests that arrived
	// at a work queue during the tick; nil for other containers and for a
	// tick in which no request arrived. The observation carries a copy.
	Latency    *state.LatencyStats `json:"latency,omitempty"`
	NetTxBytes uint64              `json:"net_tx_bytes,omitempty"`
}

// Tick runs the node for dt of virtual time and returns what its sensors
// saw over that interval:
//
//  1. the clock advances by dt; the observation is stamped with its new time;
//  2. every running container's generator gives its demand at the middle of
//     the interval (time counted from the container's start), with the
//     optional seeded noise; a latency-critical container turns it into
//     arriving work and offers its queue to the CPU;
//  3. the CPU model shares the CPUs for the interval; a work queue is
//     served by the CPU it got, the rest waits as backlog;
//  4. the link model sends what each container's uplink allows.
//
// Settings changed with SetCPU or SetBandwidth before the call apply to
// the whole interval. Stopped containers use nothing and are not reported.
// A negative dt counts as zero: the clock stays, no work arrives or is
// served, and the rates are the model's for that instant.
func (n *Node) Tick(dt time.Duration) state.Observation {
	n.mu.Lock()
	defer n.mu.Unlock()
	dt = max(dt, 0)
	start := n.clock.Now()
	n.clock.Advance(dt)
	seconds := dt.Seconds()
	running := n.running()
	if n.machine != nil {
		return n.tickTimed(running, start, dt)
	}
	ticks := make([]ContainerTick, len(running))
	n.tasks = n.tasks[:0]
	for i, c := range running {
		ticks[i] = n.offer(c, start.Add(dt/2), seconds)
		n.tasks = append(n.tasks, cpu.Task{CPUs: c.mask, Shares: c.shares, QuotaCores: quotaOrZero(c.quota), Demand: ticks[i].Offered})
	}
	n.allocate()
	for i, c := range running {
		n.settle(c, &ticks[i], n.shares[i], seconds)
	}
	return n.observeAll(running, ticks, seconds)
}

// observeAll turns the tick's ground truth into the observation and keeps
// it for LastTick.
func (n *Node) observeAll(running []*container, ticks []ContainerTick, seconds float64) state.Observation {
	obs := state.Observation{
		Node: n.name, Time: n.clock.Now(), IntervalSeconds: seconds,
		Host:       state.HostObservation{CPUs: n.cpus},
		Containers: make([]state.ContainerObservation, len(running)),
	}
	for i, c := range running {
		obs.Containers[i] = observe(c, ticks[i])
		obs.Host.CPUUsageCores += ticks[i].Usage
		obs.Host.NetTxBytes += ticks[i].NetTxBytes
	}
	n.last = ticks
	return obs
}

// LastTick returns the ground truth of the last tick, one entry per
// running container, sorted by ID.
func (n *Node) LastTick() []ContainerTick {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.last)
}

func (n *Node) running() []*container {
	var out []*container
	for _, c := range n.all {
		if c.running {
			out = append(out, c)
		}
	}
	return out
}

// offer works out what a container asks of the CPU over the tick.
func (n *Node) offer(c *container, middle time.Time, seconds float64) ContainerTick {
	t := n.demand(c, middle)
	if c.queue != nil {
		cores := c.mask.Count()
		if c.mask == 0 {
			cores = n.cpus
		}
		t.Offered = c.queue.Offer(t.Demand*seconds, seconds, cores)
	}
	return t
}

// demand reads a container's generator at the middle of the tick, with the
// node's optional noise.
func (n *Node) demand(c *container, middle time.Time) ContainerTick {
	d := c.load.Demand(max(0, middle.Sub(c.started)))
	if n.noise > 0 {
		d *= max(0, 1+n.noise*n.rng.NormFloat64())
	}
	return ContainerTick{
		ID: c.id, Class: c.class, Demand: d, Offered: d,
		QuotaCores: copyFloat(c.quota), Shares: c.shares, CPUSet: c.cpuset,
	}
}

// allocate runs the CPU model over n.tasks into n.shares. The node checks
// every input when it accepts it, so the model cannot refuse them; if it
// ever does, the tick runs nothing and says so in the log rather than
// inventing numbers.
func (n *Node) allocate() {
	shares, err := n.allocator.Allocate(n.cpus, n.tasks, n.shares)
	if err != nil {
		n.log.Error("CPU model refused the tick; no container ran", "error", err)
		shares = make([]cpu.Share, len(n.tasks))
		for i, t := range n.tasks {
			shares[i] = cpu.Share{Wait: t.Demand, Limit: cpu.LimitContention}
		}
	}
	n.shares = shares
}

// settle records what a container got and serves its queue and its link.
func (n *Node) settle(c *container, t *ContainerTick, share cpu.Share, seconds float64) {
	t.Usage, t.Wait, t.Limit = share.Usage, share.Wait, share.Limit.String()
	t.ThrottledSeconds = share.ThrottledFraction * seconds
	if c.queue != nil {
		report, latency := c.queue.Serve(t.Demand*seconds, t.Usage, seconds)
		t.Work, t.Latency = &report, latency
	}
	t.NetTxBytes = c.send(seconds)
}

// send is the link model: a container sends at its net demand, up to its
// uplink limit. Fractions of a byte carry over to the next tick, so the
// totals are exact over a run.
func (c *container) send(seconds float64) uint64 {
	mbit := c.netDemandMbit
	if c.netCap != nil {
		mbit = min(mbit, *c.netCap)
	}
	bytes := mbit*1e6/8*seconds + c.txCarry
	whole := math.Floor(bytes)
	c.txCarry = bytes - whole
	return uint64(whole)
}

func observe(c *container, t ContainerTick) state.ContainerObservation {
	return state.ContainerObservation{
		ID: c.id, App: c.app, Name: c.name, GUID: c.guid, Class: c.class, CPUSet: c.cpuset,
		CPUUsageCores: t.Usage, RunQueueWaitCores: t.Wait, ThrottledSeconds: t.ThrottledSeconds,
		CPUQuotaCores: copyFloat(t.QuotaCores), CPUShares: t.Shares,
		NetTxBytes: t.NetTxBytes, Work: copyReport(t.Work), Latency: copyLatency(t.Latency),
	}
}

func copyLatency(l *state.LatencyStats) *state.LatencyStats {
	if l == nil {
		return nil
	}
	v := *l
	return &v
}

func copyReport(w *state.WorkReport) *state.WorkReport {
	if w == nil {
		return nil
	}
	v := *w
	return &v
}

func quotaOrZero(q *float64) float64 {
	if q == nil {
		return 0
	}
	return *q
}
