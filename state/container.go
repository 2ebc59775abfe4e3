package state

import (
	"fmt"
	"strconv"
)

// Container is a container as a runtime reports it: the type the runtime,
// the actuators, the sensors and the reconciler share. The runtime finds its
// containers by the labels it put on them, which is how an agent that
// restarts adopts what the previous one left running.
type Container struct {
	// ID is sluice's name for it, "<app>/<container>" (ContainerID).
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
	// SpecHash is the hash of the spec it was created from; a different
	// hash in the desired spec means the container must be recreated.
	SpecHash string
	// Store is the identity (ClusterIDKey) of the store whose agent created
	// it; empty for a container made before sluice labelled them so.
	Store string
}

// ShortRuntimeID is the 12-character form of a runtime ID that docker ps
// shows: enough to tell containers apart in logs, errors and reasons.
func ShortRuntimeID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
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

// String renders CPU settings as "quota=0.5 shares=1024 cpuset=0", with
// unset fields shown as what they mean.
func (r CPUResources) String() string {
	shares := "keep"
	if r.Shares != nil {
		shares = strconv.FormatUint(*r.Shares, 10)
	}
	cpuset := r.CPUSet
	if cpuset == "" {
		cpuset = "keep"
	}
	return fmt.Sprintf("quota=%s shares=%s cpuset=%s", FormatOptional(r.QuotaCores, "unlimited"), shares, cpuset)
}

// FormatOptional renders an optional number, or what its absence means.
func FormatOptional(value *float64, unset string) string {
	if value == nil {
		return unset
	}
	return strconv.FormatFloat(*value, 'g', -1, 64)
}
