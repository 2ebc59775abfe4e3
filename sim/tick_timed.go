package sim

import (
	"math"
	"time"

	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/state"
)

// tickTimed is Tick on the timed CPU model: the machine runs the interval
// step by step, so a work queue's requests wait behind a hog's slice or a
// throttled group's burst, and their latency is measured when they finish,
// as a real service's spans are.
func (n *Node) tickTimed(running []*container, start time.Time, dt time.Duration) state.Observation {
	seconds := dt.Seconds()
	ticks := make([]ContainerTick, len(running))
	tasks := make([]cfs.Task, len(running))
	for i, c := range running {
		ticks[i] = n.demand(c, start.Add(dt/2))
		tasks[i] = n.timedTask(c, ticks[i].Demand)
		running := c.started.Add(n.startLatency).Sub(start).Seconds()
		tasks[i].FromSeconds = min(max(0, running), seconds)
	}
	results, err := n.machine.Run(tasks, seconds)
	if err != nil {
		n.log.Error("timed CPU model refused the tick; no container ran", "error", err)
		results = make([]cfs.Result, len(tasks))
	}
	for i, c := range running {
		settleTimed(c, &ticks[i], results[i], seconds)
	}
	return n.observeAll(running, ticks, seconds)
}

// timedTask is a container as the timed model runs it: a work queue of its
// requests, or fluid work on as many threads as its demand needs.
func (n *Node) timedTask(c *container, demand float64) cfs.Task {
	t := cfs.Task{Key: c.id, CPUs: c.mask, Shares: c.shares, QuotaCores: quotaOrZero(c.quota), Demand: demand}
	if c.queue != nil {
		t.RequestSeconds = c.queue.requestCPU()
		return t
	}
	cores := c.mask.Count()
	if c.mask == 0 {
		cores = n.cpus
	}
	t.Threads = max(1, min(cores, int(math.Ceil(demand-1e-9))))
	return t
}

func settleTimed(c *container, t *ContainerTick, r cfs.Result, seconds float64) {
	t.Usage, t.Wait, t.ThrottledSeconds, t.Limit = r.Usage, r.Wait, r.ThrottledSeconds, r.Limit.String()
	t.Offered = t.Demand
	if c.queue != nil {
		c.queue.Backlog = r.Work.Backlog
		work := r.Work
		t.Work, t.Latency = &work, r.Latency
		t.Offered = (r.Work.Backlog + r.Work.Served) / max(seconds, 1e-9)
	}
	t.NetTxBytes = c.send(seconds)
}
