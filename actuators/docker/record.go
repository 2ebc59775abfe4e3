package docker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// Bounds of the engine updates a CPURecord makes: each has a deadline,
// and rounds of them are a pace apart, so a policy that moves a quota every
// tick costs the engine one update per container per pace, not per tick.
const (
	recordUpdateTimeout = 5 * time.Second
	recordPace          = time.Second
)

// containerUpdater is the engine call a CPURecord makes.
type containerUpdater interface {
	ContainerUpdate(ctx context.Context, id string, opts client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
}

// CPURecord keeps the engine's record of each container's CPU settings
// (what `docker inspect` shows) in line with what the cgroup actuator
// wrote. The cgroup write stays the fast path the reconciler waits on; an
// engine update takes tens of milliseconds and CPU of the engine's, so
// Record only notes a container's latest settings and Run sends them, off
// the loop, at most once per recordPace. Newer settings of a container
// replace older ones not yet sent, so the backlog is at most one entry per
// container. The engine writes the same values to the cgroup as it records
// them, which changes nothing: by then they are the ones written.
type CPURecord struct {
	engine containerUpdater
	log    *slog.Logger

	mu      sync.Mutex
	pending map[string]state.CPUResources // by runtime ID
	wake    chan struct{}
	// failing holds the containers whose last update failed, so that an
	// engine that keeps refusing is logged once, not every round; only
	// Run's goroutine touches it.
	failing map[string]bool
}

// NewCPURecord returns a CPURecord that updates the runtime's engine.
func (r *Runtime) NewCPURecord() *CPURecord {
	return newCPURecord(r.cli, r.log)
}

func newCPURecord(engine containerUpdater, logger *slog.Logger) *CPURecord {
	return &CPURecord{engine: engine, log: logger, pending: map[string]state.CPUResources{}, wake: make(chan struct{}, 1),
		failing: map[string]bool{}}
}

// Record notes that c now has the CPU settings res; it never blocks.
func (c *CPURecord) Record(ctr state.Container, res state.CPUResources) {
	c.mu.Lock()
	c.pending[ctr.RuntimeID] = res
	c.mu.Unlock()
	c.signal()
}

func (c *CPURecord) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run sends the noted settings to the engine until ctx ends. An update the
// engine fails is tried again in the next round, unless newer settings
// came meanwhile; a container the engine no longer has is dropped.
func (c *CPURecord) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		}
		c.sendPending(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(recordPace):
		}
	}
}

// sendPending sends every noted update once.
func (c *CPURecord) sendPending(ctx context.Context) {
	c.mu.Lock()
	batch := c.pending
	c.pending = map[string]state.CPUResources{}
	c.mu.Unlock()
	for id, res := range batch {
		err := c.update(ctx, id, res)
		switch {
		case err != nil && ctx.Err() == nil:
			if !c.failing[id] {
				c.log.Warn("the engine's record of a container's CPU settings lags the cgroup; trying again each round", "runtime_id", id, "err", err)
			}
			c.failing[id] = true
			c.retry(id, res)
		case err == nil && c.failing[id]:
			c.log.Info("the engine's record of a container's CPU settings agrees with the cgroup again", "runtime_id", id)
			delete(c.failing, id)
		}
	}
}

func (c *CPURecord) update(ctx context.Context, id string, res state.CPUResources) error {
	ctx, cancel := context.WithTimeout(ctx, recordUpdateTimeout)
	defer cancel()
	resources := updateResources(res)
	_, err := c.engine.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{Resources: &resources})
	if cerrdefs.IsNotFound(err) {
		return nil // removed meanwhile: there is no record to correct
	}
	return err
}

// retry notes res again unless newer settings of the container came.
func (c *CPURecord) retry(id string, res state.CPUResources) {
	c.mu.Lock()
	if _, newer := c.pending[id]; !newer {
		c.pending[id] = res
	}
	c.mu.Unlock()
	c.signal()
}

// updateResources is the engine update that records res. Unset shares
// and an empty cpuset are left alone, as the cgroup actuator leaves them;
// no quota is recorded as -1, the engine's "no limit".
func updateResources(res state.CPUResources) container.Resources {
	out := container.Resources{CPUPeriod: cfsPeriodMicros, CPUQuota: -1, CpusetCpus: res.CPUSet}
	if res.QuotaCores != nil {
		out.CPUQuota = quotaMicros(*res.QuotaCores)
	}
	if res.Shares != nil {
		out.CPUShares = int64(*res.Shares)
	}
	return out
}
