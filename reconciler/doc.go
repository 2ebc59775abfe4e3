// Package reconciler drives each app on a node towards its desired state.
//
// It has two layers. Core is a pure state machine: desired state (the app
// specs and the policy's latest decision, from a state.View) and actual
// state (the containers and their settings) go in, and a Ready comes out,
// listing the actuator calls to make and the lifecycle transitions to
// record. It owns no goroutine, does no I/O and reads no clock, so the
// simulator runs it deterministically and tests compare its intended
// actions as text (testdata/*.txt). Runner is the imperative shell around
// it for a real node: it follows the store, reads the actuators, calls the
// core and carries out what it returns. The docs/lifecycle.md file draws
// the app lifecycle.
//
// # Driving a Core
//
// A caller that does not use Runner (a test, a tool) repeats these steps,
// in this order, from one goroutine:
//
//  1. Build the Input from scratch: the time (Now), the folded store
//     (View), the runtime's containers (Runtime.List), and the CPU and
//     bandwidth settings read back from each running container, keyed by
//     container ID. Leave a setting out when it could not be read: the core
//     then leaves it alone rather than rewrite it blindly. Set NodeLost
//     while the node's heartbeat lease is expired. Put in Failures the
//     actions of the previous Ready that the actuators refused. Set Store
//     to the store's identity, and Claimed to claim the node without a
//     claim in the view.
//  2. Call Step. It never asks what changed since the last call: the same
//     Input after its Ready was carried out gives an empty Ready.
//  3. Carry out Ready.Actions in order: stops and removes, then creates,
//     then resource settings. When an action on a container fails, skip
//     the later actions on the same ContainerID and go on with the others;
//     remember the failure for the next Input. A set-cpu or set-bandwidth
//     whose Container is empty follows a create of the same container in
//     this Ready: apply it to the Container that Create returned.
//  4. Write Ready.Statuses under state.Keys.Status(node, app). Each is one
//     lifecycle transition (AppStatus.Transition) and each app appears at
//     most once, so they fit one Txn. If the write fails, keep them and
//     write them before the next Ready's, in order: the status key's
//     history is the app's lifecycle log.
//  5. Step again after anything changes, when Ready.WakeAt is reached (a
//     failed app's restart backoff ends), and after a Ready that had
//     actions or statuses, to see their effect.
//
// A Runtime's Create must apply the spec's cpuset and initial resources,
// and label the container with its app, name, GUID, spec hash and store,
// so that List reports them back: that is how a restarted agent adopts the
// containers its predecessor left running instead of creating duplicates.
// On first sight of an app, the core likewise adopts the lifecycle that
// the app's stored status records for this node. It adopts no container
// of another store, and none at all while the store knows nothing of the
// node (no status of it, no spec pinned to it), until the node is claimed
// (View.Claim, or Input.Claimed); Ready.Held lists what it leaves alone,
// for the caller to report.
//
// # Running a Runner
//
// NewRunner takes a RunnerConfig: the node, the store, the actuators, the
// clock and the GUID randomness. Then either:
//
//   - call Run(ctx) on a real node, with RunnerConfig.Follower set to the
//     node's state.Follower (which its caller runs). It takes each new
//     view from the follower and passes when the specs, the decision, the
//     registration or the cluster keys changed, subscribes to runtime
//     events (before its first pass) when the Runtime implements
//     RuntimeEvents, coalesces wakes into one pass, retries failed actions
//     with per-container exponential backoff, and resyncs periodically. It
//     returns when ctx ends.
//   - or, to stay deterministic (the simulator), call Sync (or Apply) to
//     bring the view up to date and ReconcileOnce to run exactly one pass,
//     after every tick.
//
// If the store is unreachable, a runner keeps reconciling against its last
// view and keeps the statuses it could not write for later (fail static).
// A node-lost status is written only over the status the pass saw
// (Store.PutIf on its revision).
package reconciler
