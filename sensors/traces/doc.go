// Package traces is sluice's trace intake: it receives spans the way a
// Jaeger or OpenCensus agent does, on the standard ports, and turns them
// into the latency the policy reads from each node's observation.
//
// The shape is receivers → queue → core → snapshot (and, optionally, a
// forwarder beside the core):
//
//   - Receivers (OTLP gRPC on 4317, OTLP HTTP on 4318, Jaeger Thrift
//     compact on 6831/udp and binary on 6832/udp) decode spans and push
//     them into a queue bounded in spans. Malformed input is answered (or
//     ignored, for datagrams) and counted per receiver; it never stops a
//     receiver.
//   - The core binds each span to a container through its service name,
//     which is the container's GUID, keeps one latency window per
//     container for the tick (its server spans) and assembles traces
//     across containers for each app's end-to-end latency. It does no I/O
//     and reads no clock: time is the count of Snapshot calls.
//   - Every span received is either kept by the core or counted in
//     sluice_traces_spans_dropped_total under one reason.
//
// A caller (the agent) does this:
//
//  1. Create a Directory and keep it current with Update(containers) from
//     the runtime's list, every tick or on every change.
//  2. New(Config{Resolver: dir.Resolve, Registry: reg, ...}); the default
//     receivers listen on 127.0.0.1, DefaultReceivers(bridgeIP) puts them
//     where containers can reach them.
//  3. Run Start(ctx) in a goroutine it owns. When ctx ends, Start stops
//     the receivers, moves what is queued into the core, closes the open
//     traces and flushes the forwarder before it returns.
//  4. Each tick, call Snapshot() and Apply it to the tick's
//     state.Observation: per container Latency, per app Apps[app].
//  5. For `sluice traces APP`, RecentTraces(app, n) lists finished traces.
//
// docs/traces.md describes ports, bounds, assembly and metrics.
package traces
