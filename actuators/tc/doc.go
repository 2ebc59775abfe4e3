// Package tc limits a container's uplink bandwidth with a tbf qdisc on the
// interface inside its network namespace.
//
// A Controller implements reconciler.BandwidthController. For each call it
// asks a PIDs lookup for a process in the container, opens that process's
// network namespace, and talks netlink to it through a handle bound to the
// namespace (netlink.NewHandleAt), so no goroutine of the caller is ever
// switched into the container's namespace. TBFFor computes the token bucket
// for a rate without I/O; the Controller replaces the root qdisc of the
// container's eth0 with it, reads it back, or deletes it.
package tc
