package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/sim/cpu"
	"github.com/sluice-io/sluice/sim/demand"
	"github.com/sluice-io/sluice/state"
)

// Errors a simulated node returns, wrapped with the container they concern.
var (
	// ErrNotFound: no such container (or a container value that names one
	// since removed and recreated).
	ErrNotFound = errors.New("no such container")
	// ErrConflict: a container with that ID already exists.
	ErrConflict = errors.New("container already exists")
)

// RuntimeName is what a simulated node reports as its runtime.
const RuntimeName = "sim"

// Statically check that a Node is everything the reconciler drives.
var (
	_ reconciler.Runtime             = (*Node)(nil)
	_ reconciler.CPUController       = (*Node)(nil)
	_ reconciler.BandwidthController = (*Node)(nil)
)

// NodeConfig describes a simulated node.
type NodeConfig struct {
	Name string
	// CPUs is the number of CPUs, 1 to 64.
	CPUs int
	// Clock is the virtual clock the node reads and advances. When nil the
	// node makes its own, starting at Epoch.
	Clock *Clock
	Epoch time.Time
	// Seed drives every random choice the node makes; two nodes with the
	// same seed and inputs produce the same observations.
	Seed uint64
	// DemandNoise is the standard deviation of a multiplicative Gaussian
	// noise on every generator's demand, per tick (0.05 for ±5%); 0 is off.
	DemandNoise float64
	// Profile, when set, runs the containers on the timed CPU model
	// (sim/cfs) with this machine's parameters; nil runs the fluid model
	// (sim/cpu). Its defaults must be filled (cfs.Profile.WithDefaults).
	Profile *cfs.Profile
	// Files is where csv demand files are read from; nil if none is used.
	Files fs.FS
	// Logger receives the node's lifecycle events; nil discards them.
	Logger *slog.Logger
}

// Node is a simulated node: a runtime whose containers run on the CPU
// model, with the same actuator interfaces and the same observations as a
// real node. Its methods are safe for concurrent use.
type Node struct {
	mu        sync.Mutex
	name      string
	cpus      int
	clock     *Clock
	files     fs.FS
	noise     float64
	rng       *rand.Rand
	log       *slog.Logger
	created   int
	all       []*container // sorted by ID
	allocator cpu.Allocator
	machine   *cfs.Machine // the timed model; nil runs the fluid one
	// startLatency is how long a container's workload takes to run after
	// its start, on the timed model.
	startLatency time.Duration
	tasks        []cpu.Task
	shares       []cpu.Share
	last         []ContainerTick
}

// container is one simulated container: what Docker's labels and cgroups
// would hold, plus the workload behind it.
type container struct {
	id, app, name, guid, runtimeID, specHash string
	class                                    state.Class
	cpuset                                   string // as normalised list syntax; "" = all CPUs
	mask                                     cpu.Mask
	shares                                   uint64
	quota                                    *float64
	netCap                                   *float64
	netDemandMbit                            float64
	txCarry                                  float64 // bytes not yet reported, below one
	load                                     demand.Generator
	queue                                    *WorkQueue // latency-critical containers only
	started                                  time.Time
	running                                  bool
	exitCode                                 int
}

// NewNode checks cfg and returns an empty node.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Name == "" {
		return nil, errors.New("sim node: name is required")
	}
	if cfg.CPUs < 1 || cfg.CPUs > cpu.MaxCPUs {
		return nil, fmt.Errorf("sim node %s: cpus must be 1-%d, got %d", cfg.Name, cpu.MaxCPUs, cfg.CPUs)
	}
	if math.IsNaN(cfg.DemandNoise) || math.IsInf(cfg.DemandNoise, 0) || cfg.DemandNoise < 0 {
		return nil, fmt.Errorf("sim node %s: demand noise must be a finite number ≥ 0, got %g", cfg.Name, cfg.DemandNoise)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = NewClock(cfg.Epoch)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var machine *cfs.Machine
	var startLatency time.Duration
	if cfg.Profile != nil {
		startLatency = time.Duration(cfg.Profile.StartLatencyMs * float64(time.Millisecond))
		m, err := cfs.NewMachine(cfg.CPUs, *cfg.Profile, cfg.Seed)
		if err != nil {
			return nil, fmt.Errorf("sim node %s: %w", cfg.Name, err)
		}
		machine = m
	}
	return &Node{
		machine: machine, startLatency: startLatency,
		name:  cfg.Name,
		cpus:  cfg.CPUs,
		clock: clock,
		files: cfg.Files,
		noise: cfg.DemandNoise,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x51_1ce)),
		log:   logger.With("node", cfg.Name),
	}, nil
}

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// Clock is the node's virtual clock. Read it freely; advance it only
// through Tick, which keeps the observations' intervals whole.
func (n *Node) Clock() *Clock { return n.clock }

// Now is the node's current virtual time.
func (n *Node) Now() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clock.Now()
}

// Info is the node's registration.
func (n *Node) Info() state.NodeInfo {
	return state.NodeInfo{Name: n.name, Runtime: RuntimeName, Capacity: state.Capacity{CPUs: n.cpus}}
}

// Kill makes a running container die as if it crashed (exit code 137), for
// tests of the lifecycle.
func (n *Node) Kill(id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.byID(id)
	if c == nil {
		return fmt.Errorf("kill %s: %w", id, ErrNotFound)
	}
	if !c.running {
		return fmt.Errorf("kill %s: it is not running", id)
	}
	c.running, c.exitCode = false, 137
	n.log.Info("container died", "id", id, "exit_code", c.exitCode)
	return nil
}

// SetNetDemand sets the rate, in Mbit/s, at which a container would send
// if its uplink let it. It starts at zero.
func (n *Node) SetNetDemand(id string, mbit float64) error {
	if math.IsNaN(mbit) || math.IsInf(mbit, 0) || mbit < 0 {
		return fmt.Errorf("net demand of %s: must be a finite number ≥ 0, got %g", id, mbit)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.byID(id)
	if c == nil {
		return fmt.Errorf("net demand of %s: %w", id, ErrNotFound)
	}
	c.netDemandMbit = mbit
	return nil
}

// byID finds a container by sluice's ID, or nil.
func (n *Node) byID(id string) *container {
	i, ok := n.index(id)
	if !ok {
		return nil
	}
	return n.all[i]
}

// index is where id is, or would go, in n.all.
func (n *Node) index(id string) (int, bool) {
	return slices.BinarySearchFunc(n.all, id, func(c *container, id string) int {
		return strings.Compare(c.id, id)
	})
}

// lookup finds the container a state.Container value names: by its
// runtime ID when it has one, so that a value read before a remove and
// re-create does not reach the new container.
func (n *Node) lookup(c state.Container) *container {
	found := n.byID(c.ID)
	if found == nil || (c.RuntimeID != "" && c.RuntimeID != found.runtimeID) {
		return nil
	}
	return found
}

// cpusetMask parses a cpuset and checks that it fits the node.
func (n *Node) cpusetMask(list string) (cpu.Mask, error) {
	if list == "" {
		return 0, nil
	}
	cpus, err := state.ParseCPUSet(list)
	if err != nil {
		return 0, err
	}
	mask, err := cpu.MaskOf(cpus)
	if err != nil || !cpu.AllCPUs(n.cpus).Contains(mask) {
		return 0, fmt.Errorf("cpuset %q: the node has CPUs %s", list, cpu.AllCPUs(n.cpus))
	}
	return mask, nil
}

// checkMasks asks the CPU model whether it can balance the node's cpusets
// with one of them (the container at skip, or a new one) replaced by mask.
func (n *Node) checkMasks(mask cpu.Mask, skip *container) error {
	masks := []cpu.Mask{mask}
	for _, c := range n.all {
		if c != skip {
			masks = append(masks, c.mask)
		}
	}
	return cpu.CheckCPUSets(n.cpus, masks)
}

func (c *container) asReconciler() state.Container {
	return state.Container{
		ID: c.id, App: c.app, Name: c.name, GUID: c.guid, RuntimeID: c.runtimeID,
		Running: c.running, ExitCode: c.exitCode, SpecHash: c.specHash,
	}
}
