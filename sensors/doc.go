// Package sensors observes a real node and reports it to the event log:
// one state.Observation per node per tick, the node's registration on a
// lease, and the lost status of apps whose node stopped heartbeating.
//
// The pipeline has four stages. Collectors receive raw counters (procfs
// for the host; cgroup v1 or v2 files and per-thread schedstat for
// containers) and analyse them into rates over the interval. The Sensor
// processes them: it adds each container's class and pinning from the
// spec and the workload's own report, and sorts containers by ID.
// Exporters take the result: StoreWriter writes it to the store and
// PrometheusExporter publishes it as metrics.
//
// An agent wires the package in these steps:
//
//  1. Build the collectors: NewHostCollector and NewContainerCollector.
//     The container collector needs a Locator that gives a container's
//     PID (the Docker runtime implements it); cgroup paths are derived
//     from /proc/<pid>/cgroup, and cgroup files parsed, by
//     internal/cgroupfs, as the cgroup actuator does. Roots are
//     configurable so the same code runs on fixture trees.
//  2. Build NewSensor with the node's name, its clock, the runtime (as a
//     Lister), a MetadataFunc (MetadataFromApps over the current specs)
//     and, if a workload reports its work, a WorkSource.
//  3. Build the exporters: NewStoreWriter and, to publish observations as
//     metrics, NewPrometheusExporter. The agent's own loop calls
//     Sensor.Tick every interval and hands the observation to each
//     exporter's Export; a failed tick is logged and skipped, a failed
//     write to the store stays in the StoreWriter's backlog. On shutdown
//     call StoreWriter.Flush with a short deadline, so buffered
//     observations are not lost, and ContainerCollector.Close to release
//     the kept files.
//  4. Start a Heartbeat (NewHeartbeat with NodeInfo, whose Capacity comes
//     from HostCapacity) and run it; ending its context revokes the lease.
//     A node whose registration is gone has its apps marked lost by its
//     reconciler (docs/lifecycle.md), not by the sensors.
//
// Fail static: a tick that cannot reach the store is buffered (bounded,
// oldest dropped first and counted) and written in order on reconnect; a
// heartbeat that cannot renew registers again once the store answers.
//
// docs/sensors.md documents what each figure means, which files are read
// and kept open, and how containers that go away are handled.
package sensors
