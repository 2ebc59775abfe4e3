// Package actuators holds the parts of sluice that change a real node: the
// Docker lifecycle (docker/), a container's cgroup resources (cgroup/) and
// the qdiscs on its network interface (tc/).
//
// Each actuator has the methods of one of the contracts in
// reconciler/actuators.go, but imports nothing above it: data flows from
// sensors through the store, the policies and the reconciler to the
// actuators, and imports follow it, so the agent that wires an actuator to
// the reconciler is where the two are checked against each other. Each
// finds a container the same way: the reconciler hands it a
// state.Container, and the actuator asks a small interface defined in its
// own package (a PID lookup) for what it needs from the runtime. The
// Docker runtime implements those interfaces; tests implement them with a
// process they start themselves, so a container is, to an actuator, just a
// process whose cgroup and network namespace it acts on.
//
// Actuators split the work as containerd's cgroups package does: a pure
// function computes what to change (a list of file writes, a qdisc) from the
// desired values, and a thin layer applies it. The pure half is unit-tested
// on literals; the applying half is tested against fixture trees and, as
// root, against real cgroups and network namespaces.
package actuators
