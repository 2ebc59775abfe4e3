package sensors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/internal/cgroupfs"
	"github.com/sluice-io/sluice/state"
)

// Locator finds the process of a running container. The Docker runtime
// implements it from the container's inspect data (State.Pid); the
// sensors derive the cgroup from /proc/<pid>/cgroup themselves.
type Locator interface {
	PID(ctx context.Context, c state.Container) (int, error)
}

// ContainerConfig says where the container collector reads. Zero values
// take the defaults in brackets.
type ContainerConfig struct {
	// ProcRoot is the proc mount [/proc].
	ProcRoot string
	// CgroupRoot is where the cgroup hierarchies are mounted [/sys/fs/cgroup].
	CgroupRoot string
	// Version forces a cgroup API; 0 detects it from CgroupRoot
	// (cgroupfs.DetectVersionAt).
	Version cgroupfs.Version
	// Interface is the container's network interface [eth0].
	Interface string
}

func (c ContainerConfig) withDefaults() ContainerConfig {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = cgroupfs.DefaultRoot
	}
	if c.Version == 0 {
		c.Version = cgroupfs.DetectVersionAt(c.CgroupRoot)
	}
	if c.Interface == "" {
		c.Interface = "eth0"
	}
	return c
}

// ContainerCollector reads per-container counters from cgroups and procfs
// and turns them into rates over each container's own interval.
// It is not safe for concurrent use: one Sensor owns it.
type ContainerCollector struct {
	config  ContainerConfig
	locator Locator
	logger  *slog.Logger
	tracked map[string]*trackedContainer
}

// NewContainerCollector returns a collector; Close releases its files.
func NewContainerCollector(config ContainerConfig, locator Locator, logger *slog.Logger) *ContainerCollector {
	config = config.withDefaults()
	return &ContainerCollector{
		config:  config,
		locator: locator,
		logger:  logger.With("sensor", "containers", "cgroup", fmt.Sprintf("v%d", config.Version)),
		tracked: map[string]*trackedContainer{},
	}
}

// Collect reads every running container and returns one observation each,
// in the order given, with rates over the time since that container's
// previous reading (zero on its first). A container that cannot be read
// is left out and its error joined into the returned one; containers no
// longer listed have their files closed.
func (cc *ContainerCollector) Collect(ctx context.Context, now time.Time, containers []state.Container) ([]state.ContainerObservation, error) {
	listed := map[string]bool{}
	var observations []state.ContainerObservation
	var errs []error
	for _, c := range containers {
		if !c.Running {
			continue
		}
		listed[c.ID] = true
		obs, err := cc.collectOne(ctx, now, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("container %s: %w", c.ID, err))
			continue
		}
		observations = append(observations, obs)
	}
	for id, t := range cc.tracked {
		if !listed[id] {
			t.close()
			delete(cc.tracked, id)
		}
	}
	return observations, errors.Join(errs...)
}

// collectOne reads a container, reopening its files once when a read
// fails: a restarted container has a new process and a new cgroup
// directory, and the old descriptors then fail with ESRCH or ENODEV.
func (cc *ContainerCollector) collectOne(ctx context.Context, now time.Time, c state.Container) (state.ContainerObservation, error) {
	t := cc.tracked[c.ID]
	if t != nil && t.runtimeID == c.RuntimeID {
		counters, err := t.read(cc.config.Interface)
		if err == nil {
			return t.advance(c, now, counters), nil
		}
		cc.logger.Debug("reopening container files", "container", c.ID, "err", err)
	}
	if t != nil {
		t.close()
		delete(cc.tracked, c.ID)
	}
	t, err := cc.open(ctx, c)
	if err != nil {
		return state.ContainerObservation{}, err
	}
	counters, err := t.read(cc.config.Interface)
	if err != nil {
		t.close()
		return state.ContainerObservation{}, err
	}
	cc.tracked[c.ID] = t
	return t.advance(c, now, counters), nil
}

func (cc *ContainerCollector) open(ctx context.Context, c state.Container) (*trackedContainer, error) {
	pid, err := cc.locator.PID(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("locate process: %w", err)
	}
	if pid <= 0 {
		return nil, fmt.Errorf("locate process: runtime gave pid %d", pid)
	}
	group, err := cgroupfs.GroupOfPID(cc.config.ProcRoot, cc.config.Version, pid)
	if err != nil {
		return nil, err
	}
	dirs, err := groupDirs(cc.config.CgroupRoot, group)
	if err != nil {
		return nil, fmt.Errorf("cgroup of process %d: %w", pid, err)
	}
	files, err := openContainerFiles(dirs, cc.config.ProcRoot, pid)
	if err != nil {
		return nil, err
	}
	return newTrackedContainer(c.RuntimeID, pid, cc.config.ProcRoot, files), nil
}

// OpenFiles is the number of descriptors the collector keeps open.
func (cc *ContainerCollector) OpenFiles() int {
	n := 0
	for _, t := range cc.tracked {
		n += t.files.count() + len(t.threads)
	}
	return n
}

// Close releases every kept file.
func (cc *ContainerCollector) Close() error {
	for id, t := range cc.tracked {
		t.close()
		delete(cc.tracked, id)
	}
	return nil
}
