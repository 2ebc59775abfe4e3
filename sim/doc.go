// Package sim is a simulated node: a runtime, CPU and bandwidth actuators
// and sensors over a model of the CPUs, driven by a virtual clock. It
// implements the reconciler's Runtime, CPUController and
// BandwidthController, and emits the same state.Observation a real node's
// sensors write, so the policy engine and the reconciler run on it
// unchanged, deterministically and much faster than real time.
//
// The caller owns the loop. Set up once:
//
//  1. NewNode(NodeConfig{Name, CPUs, Epoch, Seed, ...}). Pass a fixed
//     Epoch, never time.Now(): the clock starts there and moves only when
//     Tick moves it. DemandNoise is off by default; when on, it draws from
//     a generator seeded with Seed.
//  2. Create containers through the Runtime interface, usually by running
//     the reconciler against the node. A container starts at the virtual
//     time of its creation, which is time zero of its demand generator
//     (package sim/demand). A latency-critical container is a work queue
//     (WorkQueue); a best-effort one simply wants its generator's demand.
//
// Then, for every tick of length dt:
//
//  1. obs := node.Tick(dt). The clock advances by dt. Each running
//     container's demand is taken at the middle of the interval; a work
//     queue adds the work that arrived to its backlog and asks for enough
//     CPU to serve all of it. The CPU model (package sim/cpu, or sim/cfs
//     when NodeConfig.Profile is set) shares the
//     CPUs by CFS shares, quotas and cpusets; queues are served, the rest
//     stays as backlog; the link model sends what each uplink allows. A
//     work queue's requests (demand.request_cpu_ms of CPU each) get a
//     latency from the backlog ahead of them and the CPU the queue got;
//     their quantiles go into the container's Latency. obs is stamped
//     with the clock's new time: write it to the store as the node's
//     observation.
//  2. node.LastTick() gives the ground truth of the same interval (demand,
//     what was offered, backlog, latency, what limited each container) for the
//     experiment's report; sensors on a real node cannot see it, so it is
//     not part of the observation.
//  3. Run the policy on the view that includes obs and let the reconciler
//     apply the decision: its SetCPU and SetBandwidth calls take effect
//     from the next Tick on, for the whole of that interval.
//
// Tick holds no policy and touches no store; all state that crosses
// components goes through the caller. Same seed and same calls give the
// same observations, byte for byte.
//
// Kill makes a container die (exit code 137) for lifecycle tests;
// SetNetDemand gives a container traffic to send. docs/simulator.md
// describes the model, its assumptions and its limits.
package sim
