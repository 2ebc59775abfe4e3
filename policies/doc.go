// Package policies turns a View into a Decision with a Rego policy bundle:
// it loads, checks, prepares and evaluates the bundle, validates what the
// policy returns, and reloads the bundle when it changes. shield.rego, the
// default policy, and its tests live in this directory too; docs/policies.md
// documents the input and output documents.
//
// A decision is a pure function of the bundle digest and the view at a
// revision: the policy sees no clock but the observation's time, no network
// and no randomness, and whatever it must remember from one tick to the
// next travels in the decision's Carry, through the log. That is what lets
// a recording replay byte for byte.
//
// The caller (the agent's policy step, the simulator, replay) works with
// the package in five steps:
//
//  1. Load. NewReloader(ctx, dir, logger) loads the bundle in dir (*.rego
//     and an optional data.json; an empty dir means Default, the bundle
//     compiled into sluice) and fails if that first bundle does not compile.
//     Without a Reloader, LoadDir or LoadFiles gives a *Bundle and
//     NewEngine compiles it.
//  2. Prepare. Each bundle is compiled and its query prepared once, under
//     Capabilities: no http.send, net.*, opa.runtime or random builtins.
//     On every view the caller calls Reloader.SyncView, which switches to
//     the files under /sluice/policies/ while there are any (PushOps
//     writes them, with a ManifestFile naming the bundle's revision); it runs
//     Reloader.Run(ctx, interval) on a goroutine it owns to pick up edits
//     of the directory. A bundle that fails to compile never replaces a
//     good engine: SyncView and CheckDir return a compile-stage *Error and
//     the last good engine stays in force.
//  3. Decide. Engine.Decide(ctx, view, node) builds the input from the
//     view, evaluates data.sluice.shield.decision with the observation's
//     time as OPA's clock, and stamps the result with the view's revision,
//     the observation's time, the bundle digest and its revision.
//     ErrNoObservation means there is nothing to decide on yet: wait for the
//     node's sensors. The evaluation is bounded by ctx's deadline, which the
//     caller sets, and by DefaultEvalHeapBytes of heap growth; an evaluation
//     stopped at either fails with an error that Bounded recognises, and the
//     caller takes the bundle out of force with Reloader.Reject.
//  4. Validate. Decide validates the output before returning it (Validate:
//     known containers only, quotas within the node's CPUs, shares and
//     bandwidth within their ranges). Any failure is an *Error with Stage
//     "eval" or "validate", and the caller must not act on it.
//  5. Record. Step does 3 and 4 and returns the writes for one Txn, and the
//     policy's failure if it failed: the
//     decision under state.Keys.Decision(node) when it changes what the
//     previous one asks for (Changed), and the deletion of the node's
//     PolicyError once a good decision follows one. On an *Error it
//     returns the PolicyError instead, so the failure is in the log and the
//     last good decision stays in force.
//
// RunTests runs a bundle's *_test.rego files with OPA's tester, under the
// same capabilities; `sluice policy test DIR` and TestRegoPolicies use it.
package policies
