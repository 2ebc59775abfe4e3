package sim

import (
	"context"
	"fmt"
	"math"

	"github.com/sluice-io/sluice/state"
)

// CPU returns a container's CPU settings as the model holds them. The
// shares are always set (1024 unless changed); CPUSet is "" when the
// container may use every CPU.
func (n *Node) CPU(ctx context.Context, rc state.Container) (state.CPUResources, error) {
	if err := ctx.Err(); err != nil {
		return state.CPUResources{}, fmt.Errorf("read CPU settings of %s: %w", rc.ID, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return state.CPUResources{}, fmt.Errorf("read CPU settings of %s: %w", rc.ID, ErrNotFound)
	}
	shares := c.shares
	return state.CPUResources{QuotaCores: copyFloat(c.quota), Shares: &shares, CPUSet: c.cpuset}, nil
}

// SetCPU changes a container's CPU settings from the next tick on. A nil
// quota removes the quota; nil shares and an empty cpuset leave them as
// they are. Nothing changes unless every setting is valid.
func (n *Node) SetCPU(ctx context.Context, rc state.Container, r state.CPUResources) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("set CPU of %s: %w", rc.ID, err)
	}
	if q := r.QuotaCores; q != nil && (math.IsNaN(*q) || math.IsInf(*q, 0) || *q <= 0) {
		return fmt.Errorf("set CPU of %s: quota must be > 0 cores, got %g", rc.ID, *q)
	}
	if s := r.Shares; s != nil && (*s < 2 || *s > 262144) {
		return fmt.Errorf("set CPU of %s: shares must be in [2, 262144], got %d", rc.ID, *s)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return fmt.Errorf("set CPU of %s: %w", rc.ID, ErrNotFound)
	}
	mask := c.mask
	if r.CPUSet != "" {
		var err error
		if mask, err = n.cpusetMask(r.CPUSet); err != nil {
			return fmt.Errorf("set CPU of %s: %w", rc.ID, err)
		}
		if err := n.checkMasks(mask, c); err != nil {
			return fmt.Errorf("set CPU of %s: %w", rc.ID, err)
		}
	}
	c.quota = copyFloat(r.QuotaCores)
	if r.Shares != nil {
		c.shares = *r.Shares
	}
	c.mask, c.cpuset = mask, mask.String()
	n.log.Debug("cpu set", "id", c.id, "quota_cores", formatQuota(c.quota), "shares", c.shares, "cpuset", c.cpuset)
	return nil
}

func formatQuota(q *float64) string {
	if q == nil {
		return "none"
	}
	return fmt.Sprintf("%g", *q)
}

// Bandwidth returns a container's uplink limit in Mbit/s; nil is unlimited.
func (n *Node) Bandwidth(ctx context.Context, rc state.Container) (*float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read bandwidth of %s: %w", rc.ID, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return nil, fmt.Errorf("read bandwidth of %s: %w", rc.ID, ErrNotFound)
	}
	return copyFloat(c.netCap), nil
}

// SetBandwidth limits a container's uplink from the next tick on; nil
// removes the limit.
func (n *Node) SetBandwidth(ctx context.Context, rc state.Container, mbit *float64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("set bandwidth of %s: %w", rc.ID, err)
	}
	if mbit != nil && (math.IsNaN(*mbit) || math.IsInf(*mbit, 0) || *mbit <= 0) {
		return fmt.Errorf("set bandwidth of %s: limit must be > 0 Mbit/s, got %g", rc.ID, *mbit)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.lookup(rc)
	if c == nil {
		return fmt.Errorf("set bandwidth of %s: %w", rc.ID, ErrNotFound)
	}
	c.netCap = copyFloat(mbit)
	return nil
}
