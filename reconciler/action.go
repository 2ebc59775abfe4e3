package reconciler

import (
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// ActionKind names what an Action asks of the actuators.
type ActionKind string

// The kinds of Action, in the order a Ready lists them: stops and removes
// first, so that a recreated container's name and host ports are free
// before its replacement is created; resource settings last, so that they
// can apply to containers created in the same Ready.
const (
	ActionStop         ActionKind = "stop"
	ActionRemove       ActionKind = "remove"
	ActionCreate       ActionKind = "create"
	ActionSetCPU       ActionKind = "set-cpu"
	ActionSetBandwidth ActionKind = "set-bandwidth"
)

var actionOrder = map[ActionKind]int{
	ActionStop: 0, ActionRemove: 1, ActionCreate: 2, ActionSetCPU: 3, ActionSetBandwidth: 4,
}

// Action is one call the runner makes on an actuator.
type Action struct {
	Kind ActionKind
	// ContainerID is the container's identity on the node, "<app>/<name>".
	// It is the unit of the runner's retry backoff: a failed action delays
	// the later actions on the same ID and no others.
	ContainerID string
	App         string
	// Container is the runtime's container for stop, remove and the
	// resource settings. For a resource setting that follows a create of
	// the same ContainerID, it is empty: use the container Create returned.
	Container state.Container
	// Spec, GUID and SpecHash are what to create (create only).
	Spec     *state.ContainerSpec
	GUID     string
	SpecHash string
	// CPU is the desired CPU settings (set-cpu only).
	CPU *state.CPUResources
	// BandwidthMbit is the desired uplink limit (set-bandwidth only; nil
	// means unlimited).
	BandwidthMbit *float64
	// Reason says why, for logs and test output.
	Reason string
}

// String renders the action on one line, in the form the testdata scripts
// expect.
func (a Action) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", a.Kind, a.ContainerID)
	switch a.Kind {
	case ActionCreate:
		fmt.Fprintf(&b, " image=%s guid=%s hash=%s", a.Spec.Image, a.GUID, a.SpecHash)
	case ActionStop, ActionRemove:
		fmt.Fprintf(&b, " runtime-id=%s", a.Container.RuntimeID)
	case ActionSetCPU:
		b.WriteString(" " + a.CPU.String())
	case ActionSetBandwidth:
		b.WriteString(" mbit=" + state.FormatOptional(a.BandwidthMbit, "unlimited"))
	}
	if a.Reason != "" {
		fmt.Fprintf(&b, " (%s)", a.Reason)
	}
	return b.String()
}

// ActionFailure reports an action the runner tried and the actuator
// refused. The runner hands the failures of one pass to the next Step, which
// is how a refused create becomes a failed app with the runtime's message.
type ActionFailure struct {
	Action Action
	Err    string
}
