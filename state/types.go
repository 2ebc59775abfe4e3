package state

import (
	"fmt"
	"strings"
	"time"
)

// Class says how a container's latency matters to the policy.
type Class string

const (
	// LatencyCritical containers are the ones the policy shields.
	LatencyCritical Class = "latency-critical"
	// BestEffort containers take whatever CPU is left over.
	BestEffort Class = "best-effort"
)

// AppSpec is the intent for one app, stored as JSON under Keys.App(node, name) (an empty node: unpinned).
// Operators write it with `sluice apply` or `etcdctl put`.
type AppSpec struct {
	Name string `json:"name"`
	// Node pins the app to one node; empty means the only node there is.
	Node       string          `json:"node,omitempty"`
	Containers []ContainerSpec `json:"containers"`
}

// ContainerSpec describes one container of an app. Its ID within the node is
// "<app>/<name>" (see ContainerID).
type ContainerSpec struct {
	Name  string            `json:"name"`
	Image string            `json:"image"`
	Cmd   []string          `json:"cmd,omitempty"`
	Env   map[string]string `json:"env,omitempty"`
	Ports []PortSpec        `json:"ports,omitempty"`
	// Parent names the container of the same app that calls this one, as in
	// the original app templates; it orders start-up (parents last).
	Parent string `json:"parent,omitempty"`
	Class  Class  `json:"class"`
	// CPUSet pins the container to CPUs, in cpuset list syntax ("0", "0-1").
	CPUSet    string    `json:"cpuset,omitempty"`
	Resources Resources `json:"resources,omitempty"`
	// Demand drives the simulated runtime; a real runtime ignores it.
	Demand *DemandSpec `json:"demand,omitempty"`
	// SLO is the latency the service promises; only a latency-critical
	// container has one. A policy tightens its neighbours while the
	// container's latency is above it.
	SLO *SLOSpec `json:"slo,omitempty"`
}

// SLOSpec is a latency objective for the requests a container serves, as
// measured by its server spans (ContainerObservation.Latency).
type SLOSpec struct {
	// LatencyP99Ms is the bound on the 99th percentile of the latency of
	// the requests served in one interval, in milliseconds.
	LatencyP99Ms float64 `json:"latency_p99_ms"`
}

// PortSpec publishes a container port on the host.
type PortSpec struct {
	Container int    `json:"container"`
	Host      int    `json:"host,omitempty"`
	Protocol  string `json:"protocol,omitempty"`
}

// Resources are a container's initial resource settings. Pointer fields are
// optional: nil leaves the runtime's default in place.
type Resources struct {
	CPUShares     *uint64  `json:"cpu_shares,omitempty"`
	CPUQuotaCores *float64 `json:"cpu_quota_cores,omitempty"`
	MemoryBytes   *int64   `json:"memory_bytes,omitempty"`
	NetMbit       *float64 `json:"net_mbit,omitempty"`
}

// DemandSpec is a CPU demand, in cores (CPU-seconds per second) over the
// time since the container started. The simulator runs it; a real node
// hands it to the container as JSON in $SLUICE_DEMAND, which the
// project's sineload workload follows.
type DemandSpec struct {
	// Kind is one of sine, constant, step, square, csv.
	Kind string `json:"kind"`
	// Base and Amplitude shape sine and square: Base ± Amplitude.
	Base      float64 `json:"base,omitempty"`
	Amplitude float64 `json:"amplitude,omitempty"`
	// PeriodSeconds is the period of sine and square.
	PeriodSeconds float64 `json:"period_seconds,omitempty"`
	// Value is the constant demand, or the level before a step.
	Value float64 `json:"value,omitempty"`
	// StepAtSeconds and StepTo describe a step from Value to StepTo.
	StepAtSeconds float64 `json:"step_at_seconds,omitempty"`
	StepTo        float64 `json:"step_to,omitempty"`
	// File is a CSV of "seconds,cores" rows for kind csv, relative to the
	// file that names it. Points are the same rows inline, [seconds, cores],
	// at most MaxDemandPoints; a csv demand has one or the other. An
	// experiment inlines its files, as a container cannot read them.
	File   string       `json:"file,omitempty"`
	Points [][2]float64 `json:"points,omitempty"`
	// RequestCPUMs is the CPU time one request takes to serve, in
	// milliseconds, for the simulator's latency model of a latency-critical
	// container; 0 means the default, one millisecond (sineload's --unit).
	RequestCPUMs float64 `json:"request_cpu_ms,omitempty"`
}

// ContainerID is a container's identity on its node: "<app>/<container>".
func ContainerID(app, container string) string { return app + "/" + container }

// AppOf is the app of a container ID (ContainerID).
func AppOf(containerID string) string {
	app, _, _ := strings.Cut(containerID, "/")
	return app
}

// NodeInfo is a node's registration, kept under Keys.Node(name) on a lease.
type NodeInfo struct {
	Name         string            `json:"name"`
	AgentVersion string            `json:"agent_version"`
	Runtime      string            `json:"runtime"`
	Labels       map[string]string `json:"labels,omitempty"`
	Capacity     Capacity          `json:"capacity"`
}

// Capacity is what a node can give its containers.
type Capacity struct {
	CPUs        int     `json:"cpus"`
	MemoryBytes int64   `json:"memory_bytes"`
	NetMbit     float64 `json:"net_mbit,omitempty"`
}

// Observation is what a node's sensors saw over one interval: one event per
// node per tick, under Keys.Observation(node).
type Observation struct {
	Node string `json:"node"`
	// Time is the end of the interval on the node's clock (virtual in the
	// simulator). The policy evaluates with it as its notion of now.
	Time            time.Time              `json:"time"`
	IntervalSeconds float64                `json:"interval_seconds"`
	Host            HostObservation        `json:"host"`
	Containers      []ContainerObservation `json:"containers"`
	// Apps holds what is measured per app rather than per container, keyed
	// by app name; absent when no app reported anything over the interval.
	Apps map[string]AppObservation `json:"apps,omitempty"`
}

// AppObservation is one app's share of an Observation.
type AppObservation struct {
	// Latency is the end-to-end latency of the app's traces that completed
	// over the interval: each trace counts once, with the duration of its
	// root span, however many containers it crossed.
	Latency *LatencyStats `json:"latency,omitempty"`
}

// LatencyStats summarises the latencies of the requests seen over one
// interval. Quantiles and the maximum are in milliseconds and are zero when
// Count is zero.
type LatencyStats struct {
	Count int64 `json:"count"`
	// Errors counts the requests that ended in an error; they are included
	// in Count and in the quantiles.
	Errors int64   `json:"errors"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// HostObservation summarises the node itself.
type HostObservation struct {
	CPUs             int     `json:"cpus"`
	CPUUsageCores    float64 `json:"cpu_usage_cores"`
	MemoryTotalBytes int64   `json:"memory_total_bytes,omitempty"`
	MemoryUsedBytes  int64   `json:"memory_used_bytes,omitempty"`
	NetRxBytes       uint64  `json:"net_rx_bytes,omitempty"`
	NetTxBytes       uint64  `json:"net_tx_bytes,omitempty"`
	// DiskReadBytes and DiskWriteBytes count block I/O on the node's disks
	// over the interval.
	DiskReadBytes  uint64 `json:"disk_read_bytes,omitempty"`
	DiskWriteBytes uint64 `json:"disk_write_bytes,omitempty"`
}

// ContainerObservation is one container's share of an Observation. Rates are
// averages over the interval.
type ContainerObservation struct {
	ID     string `json:"id"`
	App    string `json:"app"`
	Name   string `json:"name"`
	GUID   string `json:"guid,omitempty"`
	Class  Class  `json:"class"`
	CPUSet string `json:"cpuset,omitempty"`
	// CPUUsageCores is CPU time used per second of the interval.
	CPUUsageCores float64 `json:"cpu_usage_cores"`
	// RunQueueWaitCores is time spent runnable but not running, per second.
	RunQueueWaitCores float64 `json:"run_queue_wait_cores"`
	// ThrottledSeconds is time the CFS quota held the container back.
	ThrottledSeconds float64 `json:"throttled_seconds"`
	// CPUQuotaCores is the quota in force (nil: unlimited), CPUShares the weight.
	CPUQuotaCores *float64 `json:"cpu_quota_cores,omitempty"`
	CPUShares     uint64   `json:"cpu_shares,omitempty"`
	MemoryBytes   int64    `json:"memory_bytes,omitempty"`
	NetRxBytes    uint64   `json:"net_rx_bytes,omitempty"`
	NetTxBytes    uint64   `json:"net_tx_bytes,omitempty"`
	// Work is the container's own account of its work queue, where it gives one.
	Work *WorkReport `json:"work,omitempty"`
	// Latency summarises the server spans the container reported over the
	// interval (the requests it served); nil when it reported none.
	Latency *LatencyStats `json:"latency,omitempty"`
}

// CPUSatisfaction is the share of the time the container wanted a CPU that it
// got one: usage / (usage + run-queue wait); 1 when it wanted nothing.
func (c ContainerObservation) CPUSatisfaction() float64 {
	wanted := c.CPUUsageCores + c.RunQueueWaitCores
	if wanted <= 0 {
		return 1
	}
	return c.CPUUsageCores / wanted
}

// WorkReport is a work-queue service's account of one interval, in CPU-seconds.
type WorkReport struct {
	Arrived float64 `json:"arrived"`
	Served  float64 `json:"served"`
	Backlog float64 `json:"backlog"`
}

// Decision is the policy's desired state for one node, under
// Keys.Decision(node). It is a pure function of the bundle digest and the
// view at Revision, which is what lets a recording replay byte for byte.
type Decision struct {
	Node string `json:"node"`
	// Revision is the store revision of the view the decision was made on.
	Revision     int64                        `json:"revision"`
	Time         time.Time                    `json:"time"`
	BundleDigest string                       `json:"bundle_digest"`
	Containers   map[string]ContainerDecision `json:"containers"`
	Reasons      []Reason                     `json:"reasons"`
	// Carry is state the policy hands to its next evaluation (an AIMD step,
	// a release counter); it travels through the log, not through memory.
	Carry map[string]any `json:"carry,omitempty"`
	// BundleRevision is where the bundle came from (the git commit
	// `sluice policy push` recorded), empty when it does not say.
	BundleRevision string `json:"bundle_revision,omitempty"`
}

// ContainerDecision is the desired resource state of one container. Nil
// fields mean "no limit" for quotas and "leave alone" for the rest.
type ContainerDecision struct {
	CPUQuotaCores *float64 `json:"cpu_quota_cores,omitempty"`
	CPUShares     *uint64  `json:"cpu_shares,omitempty"`
	NetMbit       *float64 `json:"net_mbit,omitempty"`
}

// Reason explains one rule that fired, on which values.
type Reason struct {
	Rule      string             `json:"rule"`
	Container string             `json:"container,omitempty"`
	Message   string             `json:"message"`
	Values    map[string]float64 `json:"values,omitempty"`
}

// Phase is a step of an app's lifecycle.
type Phase string

// The lifecycle: pending → ready → terminating → terminated, with failed
// (restarted after a backoff) and lost (its node stopped heartbeating).
const (
	Pending     Phase = "pending"
	Ready       Phase = "ready"
	Terminating Phase = "terminating"
	Terminated  Phase = "terminated"
	Failed      Phase = "failed"
	Lost        Phase = "lost"
)

// AppStatus is the observed lifecycle of an app, under Keys.Status(node, app).
// Every write of it is one transition, so the key's history is the app's
// lifecycle log.
type AppStatus struct {
	App   string `json:"app"`
	Node  string `json:"node,omitempty"`
	Phase Phase  `json:"phase"`
	// Error is set when the spec or the runtime refused the app.
	Error string `json:"error,omitempty"`
	// SpecRevision is the revision of the spec this status answers.
	SpecRevision int64             `json:"spec_revision,omitempty"`
	Containers   []ContainerStatus `json:"containers,omitempty"`
	Transition   *Transition       `json:"transition,omitempty"`
	Restarts     int               `json:"restarts,omitempty"`
	// Rejected says the latest value of the app's spec key was refused;
	// the spec at SpecRevision stays in force.
	Rejected *SpecRejection `json:"rejected,omitempty"`
}

// ContainerStatus is one container as the runtime reports it.
type ContainerStatus struct {
	Name        string `json:"name"`
	RuntimeID   string `json:"runtime_id,omitempty"`
	GUID        string `json:"guid,omitempty"`
	Running     bool   `json:"running"`
	ExitCode    int    `json:"exit_code,omitempty"`
	FailureNote string `json:"failure_note,omitempty"`
}

// Transition records one step of the lifecycle state machine.
type Transition struct {
	From   Phase     `json:"from"`
	To     Phase     `json:"to"`
	Event  string    `json:"event"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
}

// PolicyError is recorded under Keys.PolicyError(node) when a bundle fails to
// compile or a decision fails validation; the last good decision stays in force.
type PolicyError struct {
	Node         string    `json:"node"`
	Revision     int64     `json:"revision"`
	Time         time.Time `json:"time"`
	BundleDigest string    `json:"bundle_digest,omitempty"`
	Stage        string    `json:"stage"`
	Error        string    `json:"error"`
}

// SpecRejection says why the latest value of an app's spec key was
// refused: the key, the revision of the value, and the field at fault. The
// app's last good spec, if any, stays in force.
type SpecRejection struct {
	Key      string `json:"key"`
	Revision int64  `json:"revision"`
	Error    string `json:"error"`
}

// String renders the rejection as a status and the command line show it.
func (r SpecRejection) String() string {
	return fmt.Sprintf("spec rejected: %s (revision %d): %s", r.Key, r.Revision, r.Error)
}
