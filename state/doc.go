// Package state holds sluice's event log: the event types, the key space under
// /sluice/ (documented in docs/keyspace.md), the Store that reads and writes
// it, and the fold that turns an ordered stream of events into a View.
//
// Everything that crosses a component boundary in sluice is a key written to
// the store, and the store's revision is the sequence number of the log. A
// caller works with the package in four steps:
//
//  1. Open a Store. NewMemoryStore serves the simulator and unit tests; it has
//     no clock, so its owner calls ExpireLeases with the (virtual) time to
//     make leases expire. NewEtcdStore wraps a client/v3 connection; the
//     agent's default is the single-node server started by StartEmbedded,
//     whose Client method connects one. Both pass the same conformance suite
//     (package storetest). Wrap it in Bounded so that no call but a watch
//     waits for etcd without a deadline.
//  2. Write intent, observations, decisions and status with Txn; Put and
//     Delete build its ops, which all land at one new revision. Values are
//     plain JSON; the key decides the event's Kind (see Keys). A Txn holds
//     at most MaxTxnOps ops and MaxRequestBytes bytes, as etcd does; write
//     more ops that need not be atomic together with TxnBatched.
//  3. Follow one node's view: NewFollower(store, node, ...).Run lists the
//     node's own keys (NodeScope) and the cluster keys at one revision
//     (LoadView), watches them from the next, and lists again when a watch
//     breaks or falls behind compaction (ErrCompacted). Readers take its
//     immutable views (View, Subscribe), and WaitFor gives the first view
//     that is exactly the log up to a revision. A reader of the whole
//     cluster (the command line) uses LoadCluster instead.
//  4. Or fold events yourself, in revision order per key, with View.Apply
//     (or Fold). A View is a pure function of the events of its node's
//     keys and the cluster keys, so two readers that saw the same
//     revisions hold equal Views, and a recorded stretch of the log
//     replays exactly.
//
// A malformed value never stops a reader: the fold records the decode error
// in View.Errors under the offending key and keeps the last good value of a
// fact (node, observation, decision, status) and of an app's spec: a spec
// that fails AppSpec.ValidateFor, held to the node's registered capacity,
// leaves the last good one in View.Apps and its rejection in
// View.Rejections, so a bad edit changes nothing that runs. LoadView reads
// that last good spec from the log, since a listing holds only the latest.
package state
