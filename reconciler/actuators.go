package reconciler

import (
	"context"

	"github.com/sluice-io/sluice/state"
)

// Container is a container as a Runtime reports it. The runtime finds its
// containers by the labels it put on them, which is how an agent that
// restarts adopts what the previous one left running.
type Container struct {
	// ID is sluice's name for it, "<app>/<container>" (state.ContainerID).
	ID        string
	App       string
	Name      string
	GUID      string
	RuntimeID string
	Running   bool
	ExitCode  int
	// OOMKilled says the kernel killed it for memory; it lets a status say
	// why a container died without the reconciler asking which event woke it.
	OOMKilled bool
	// SpecHash is SpecHash of the spec it was created from; a different
	// hash in the desired spec means the container must be recreated.
	SpecHash string
}

// Runtime creates and runs containers: Docker on a real node, the simulated
// runtime in sim/.
type Runtime interface {
	// List returns every container this runtime manages, sorted by ID.
	List(ctx context.Context) ([]Container, error)
	// Create creates and starts a container for spec.
	Create(ctx context.Context, app string, spec state.ContainerSpec, guid, specHash string) (Container, error)
	// Stop stops a running container; stopping a stopped one succeeds.
	Stop(ctx context.Context, c Container) error
	// Remove deletes a container; removing a missing one succeeds.
	Remove(ctx context.Context, c Container) error
}

// RuntimeEvents is implemented by runtimes that can say when a container
// dies, so the runner reconciles at once instead of at its next poll.
type RuntimeEvents interface {
	Events(ctx context.Context) <-chan ContainerEvent
}

// ContainerEvent says something happened to a container (die, oom).
type ContainerEvent struct {
	ContainerID string
	Action      string
	ExitCode    int
}

// CPUResources are a container's CPU settings. Nil pointers mean "no quota"
// for QuotaCores and "leave alone" for Shares; an empty CPUSet is left alone.
type CPUResources struct {
	QuotaCores *float64
	Shares     *uint64
	CPUSet     string
}

// CPUController reads and writes a container's CPU settings (cgroups on a
// real node, the CPU model in the simulator).
type CPUController interface {
	CPU(ctx context.Context, c Container) (CPUResources, error)
	SetCPU(ctx context.Context, c Container, r CPUResources) error
}

// BandwidthController reads and writes a container's uplink bandwidth limit
// in Mbit/s; nil means unlimited.
type BandwidthController interface {
	Bandwidth(ctx context.Context, c Container) (*float64, error)
	SetBandwidth(ctx context.Context, c Container, mbit *float64) error
}
