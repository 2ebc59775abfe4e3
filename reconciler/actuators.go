package reconciler

import (
	"context"

	"github.com/sluice-io/sluice/state"
)

// Runtime creates and runs containers: Docker on a real node, the simulated
// runtime in sim/.
type Runtime interface {
	// List returns every container this runtime manages, sorted by ID.
	List(ctx context.Context) ([]state.Container, error)
	// Create creates and starts a container for spec.
	Create(ctx context.Context, app string, spec state.ContainerSpec, guid, specHash string) (state.Container, error)
	// Stop stops a running container; stopping a stopped one succeeds.
	Stop(ctx context.Context, c state.Container) error
	// Remove deletes a container; removing a missing one succeeds.
	Remove(ctx context.Context, c state.Container) error
}

// RuntimeEvents is implemented by runtimes that can say when a container
// dies, so the runner reconciles at once instead of at its next poll.
// Events subscribes before it returns, so that every event after the call
// arrives; the channel closes when ctx ends or the stream breaks for good.
type RuntimeEvents interface {
	Events(ctx context.Context) <-chan state.ContainerEvent
}

// CPUController reads and writes a container's CPU settings (cgroups on a
// real node, the CPU model in the simulator).
type CPUController interface {
	CPU(ctx context.Context, c state.Container) (state.CPUResources, error)
	SetCPU(ctx context.Context, c state.Container, r state.CPUResources) error
}

// BandwidthController reads and writes a container's uplink bandwidth limit
// in Mbit/s; nil means unlimited.
type BandwidthController interface {
	Bandwidth(ctx context.Context, c state.Container) (*float64, error)
	SetBandwidth(ctx context.Context, c state.Container, mbit *float64) error
}
