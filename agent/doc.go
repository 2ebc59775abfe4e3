// Package agent is the control loop of one node as a library: the `sluice
// agent` command and both modes of `sluice experiment` run it, so an
// experiment exercises the agent's own code.
//
// An Agent owns one view of the store (a state.Follower of the node's own
// keys and the cluster keys), fans it out to the policy step and the
// reconciler, keeps the node's registration on a heartbeat lease, and ticks:
//
//  1. Observe: the Node's sensors report the interval that just ended.
//  2. Record: the observation goes to the store through a bounded buffer
//     that keeps it while etcd is away and flushes in order (or counts it
//     dropped when the buffer is full).
//  3. Decide: on the view at the observation's revision, the policy (Rego)
//     computes the node's decision; it is written only when it changes,
//     and a failing policy records a PolicyError instead.
//  4. Reconcile: the reconciler drives every app towards its spec and the
//     decision. A running Agent's reconciler wakes on its own (on a change
//     of the view or a runtime event); a stepped one (Step with no Run, as
//     the simulator does) reconciles in the same goroutine, once after a
//     decision that changed, and whenever its caller calls Reconcile.
//
// A caller builds a Node (NewDockerNode for a real node, NewSimNode for a
// simulated one), opens a state.Store, and calls New with a Config. Then
// either Run(ctx), which does everything above until ctx ends, or
// Register once and Step once per tick, deterministically.
package agent
