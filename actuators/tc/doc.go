// Package tc limits a container's uplink bandwidth with a tbf qdisc on the
// interface inside its network namespace.
//
// A Controller has the methods of the reconciler's BandwidthController. For
// each call it asks a PIDs lookup for a process in the container, opens that
// process's network namespace, and talks netlink to it through a handle
// bound to the namespace (netlink.NewHandleAt), so no goroutine of the
// caller is ever switched into the container's namespace. TBFFor computes the token bucket
// for a rate without I/O and RootQdisc the one root qdisc for a rate and a
// delay; the Controller puts it at the root of the container's eth0, reads
// it back (ShapeOf), or deletes it.
//
// A delay needs the netem qdisc, which some kernels lack: SetDelay then
// returns ErrNetemUnavailable and leaves the link as it was.
package tc
