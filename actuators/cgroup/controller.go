package cgroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// PIDs finds the PID of a container's main process. The Docker runtime
// implements it; the cgroup is then read from /proc/<pid>/cgroup, which is
// right whatever cgroup driver or parent the engine was configured with.
type PIDs interface {
	PID(ctx context.Context, c state.Container) (int, error)
}

// Config configures a Controller. Zero values pick a real node's defaults.
type Config struct {
	// Root is where the cgroup hierarchies are mounted (cgroupfs.DefaultRoot).
	Root string
	// ProcRoot is where procfs is mounted ("/proc").
	ProcRoot string
	// Version is the cgroup API under Root. Zero detects it, which only
	// works for DefaultRoot; a fixture tree must say which it mimics.
	Version cgroupfs.Version
	// PIDs, if set, is asked first for a container's process; without it,
	// or when it fails, the container is found by its runtime ID at the
	// paths DriverGroups lists.
	PIDs PIDs
	// Logger receives debug lines about how containers were found.
	Logger *slog.Logger
}

// Controller reads and writes containers' CPU settings in their cgroups:
// the reconciler's CPUController on a real node.
type Controller struct {
	fs       FS
	procRoot string
	version  cgroupfs.Version
	pids     PIDs
	logger   *slog.Logger

	// writtenShares remembers the shares last written per v2 group, so that
	// reading back the weight they became reports the same shares instead
	// of the rounded inverse (see cgroupfs.SharesFromWeight). Without it a
	// level-triggered reconciler would see a difference on every pass.
	mu            sync.Mutex
	writtenShares map[string]uint64
}

// New returns a Controller for cfg.
func New(cfg Config) (*Controller, error) {
	if cfg.Root == "" {
		cfg.Root = cgroupfs.DefaultRoot
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == 0 {
		if filepath.Clean(cfg.Root) != cgroupfs.DefaultRoot {
			return nil, fmt.Errorf("cgroup root %s: set Version, detection only looks at %s", cfg.Root, cgroupfs.DefaultRoot)
		}
		v, err := cgroupfs.DetectVersion()
		if err != nil {
			return nil, err
		}
		cfg.Version = v
	}
	if cfg.Version != cgroupfs.V1 && cfg.Version != cgroupfs.V2 {
		return nil, fmt.Errorf("unknown %s", cfg.Version)
	}
	return &Controller{
		fs:            FS{Root: cfg.Root},
		procRoot:      cfg.ProcRoot,
		version:       cfg.Version,
		pids:          cfg.PIDs,
		logger:        cfg.Logger.With("actuator", "cgroup", "cgroup_version", int(cfg.Version)),
		writtenShares: map[string]uint64{},
	}, nil
}

// Locate finds the cgroup of container ctr: through its process when a PIDs
// is configured, else (or if that fails) at the paths Docker's drivers use.
func (c *Controller) Locate(ctx context.Context, ctr state.Container) (cgroupfs.Group, error) {
	var pidErr error
	if c.pids != nil {
		g, err := c.groupFromPID(ctx, ctr)
		if err == nil {
			return g, nil
		}
		pidErr = err
		c.logger.DebugContext(ctx, "container cgroup not found through its process, trying driver paths",
			"container", ctr.ID, "err", err)
	}
	g, err := c.groupFromDriver(ctr)
	if err != nil {
		return cgroupfs.Group{}, errors.Join(pidErr, err)
	}
	return g, nil
}

func (c *Controller) groupFromPID(ctx context.Context, ctr state.Container) (cgroupfs.Group, error) {
	pid, err := c.pids.PID(ctx, ctr)
	if err != nil {
		return cgroupfs.Group{}, fmt.Errorf("process of container %s: %w", ctr.ID, err)
	}
	if pid <= 0 {
		return cgroupfs.Group{}, fmt.Errorf("process of container %s: no PID (%d); is it running?", ctr.ID, pid)
	}
	g, err := cgroupfs.GroupOfPID(c.procRoot, c.version, pid)
	if err != nil {
		return cgroupfs.Group{}, fmt.Errorf("container %s: %w", ctr.ID, err)
	}
	if _, err := g.Dir(c.fs.Root, "cpu"); err != nil {
		return cgroupfs.Group{}, fmt.Errorf("container %s (process %d): %w", ctr.ID, pid, err)
	}
	return g, nil
}

func (c *Controller) groupFromDriver(ctr state.Container) (cgroupfs.Group, error) {
	candidates, err := DriverGroups(c.version, ctr.RuntimeID)
	if err != nil {
		return cgroupfs.Group{}, fmt.Errorf("container %s: %w", ctr.ID, err)
	}
	for _, g := range candidates {
		if c.fs.Exists(g, "cpu") {
			return g, nil
		}
	}
	tried := make([]string, len(candidates))
	for i, g := range candidates {
		tried[i] = g.String()
	}
	return cgroupfs.Group{}, fmt.Errorf("container %s: no cgroup under %s at %v (%s)", ctr.ID, c.fs.Root, tried, c.version)
}

// CPU reads the CPU settings of container ctr.
func (c *Controller) CPU(ctx context.Context, ctr state.Container) (state.CPUResources, error) {
	g, err := c.Locate(ctx, ctr)
	if err != nil {
		return state.CPUResources{}, err
	}
	return c.ReadCPU(g)
}

// ReadCPU reads the CPU settings of group g.
func (c *Controller) ReadCPU(g cgroupfs.Group) (state.CPUResources, error) {
	contents := map[string]string{}
	for _, f := range cpuFiles(c.version) {
		text, err := c.fs.Read(g, f)
		if err != nil {
			return state.CPUResources{}, err
		}
		contents[f.Name] = text
	}
	r, err := parseCPU(c.version, contents)
	if err != nil {
		return state.CPUResources{}, fmt.Errorf("cpu settings of %s: %w", g, err)
	}
	if c.version == cgroupfs.V2 {
		c.mu.Lock()
		if shares, ok := c.writtenShares[g.Unified]; ok && cgroupfs.SharesFromWeight(cgroupfs.WeightFromShares(shares)) == *r.Shares {
			r.Shares = &shares
		}
		c.mu.Unlock()
	}
	return r, nil
}

// SetCPU gives container ctr the CPU settings r.
func (c *Controller) SetCPU(ctx context.Context, ctr state.Container, r state.CPUResources) error {
	g, err := c.Locate(ctx, ctr)
	if err != nil {
		return err
	}
	return c.WriteCPU(g, r)
}

// WriteCPU gives group g the CPU settings r.
func (c *Controller) WriteCPU(g cgroupfs.Group, r state.CPUResources) error {
	plan, err := PlanCPU(c.version, r)
	if err != nil {
		return fmt.Errorf("cpu settings for %s: %w", g, err)
	}
	if err := c.fs.Apply(g, plan); err != nil {
		return err
	}
	if c.version == cgroupfs.V2 && r.Shares != nil {
		c.mu.Lock()
		c.writtenShares[g.Unified] = *r.Shares
		c.mu.Unlock()
	}
	return nil
}
