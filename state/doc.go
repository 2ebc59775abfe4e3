// Package state holds sluice's event log: the event types, the key space under
// /sluice/, the Store that reads and writes it, and the fold that turns an
// ordered stream of events into a View.
//
// Everything that crosses a component boundary in sluice is a key written to
// the store, and the store's revision is the sequence number of the log. A
// caller works with the package in four steps:
//
//  1. Open a Store: NewMemoryStore for the simulator and unit tests, or
//     NewEtcdStore over a client/v3 connection (the agent's default is the
//     embedded server started by StartEmbedded).
//  2. Write intent, observations, decisions and status with Put or Txn. Values
//     are plain JSON; the key decides the event's Kind (see Keys).
//  3. Read the current state with List and remember its revision R, then Watch
//     from R+1. A watch that starts below the compaction horizon fails with
//     ErrCompacted: start over from a fresh List.
//  4. Feed every event, in revision order, to Fold. The View it returns is a
//     pure function of the events, so two readers that saw the same revisions
//     hold equal Views, and a recorded stretch of the log replays exactly.
//
// A malformed value never stops a reader: Fold records the decode error in
// View.Errors under the offending key and keeps the last good value.
package state
