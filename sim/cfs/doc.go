// Package cfs is the simulator's CPU model with time in it: a Machine runs
// a node's containers in small time steps the way Linux's fair scheduler
// (EEVDF, or CFS before Linux 6.6) does, so that
// what happens within a tick (a hog's slice, a throttled group's burst after
// its quota refills, a service waking up to a request) shows in the
// requests' latency, not only in the tick's averages.
//
// A Task is a container for one tick: cpuset, weight, quota and the rate
// at which work arrives; a latency-critical one is a queue of requests.
// Run advances the machine by a tick and returns, per task, the CPU it
// ran, its wait and throttled time, its work and the latency of the
// requests it completed. The Machine keeps virtual runtimes, quota budgets
// and queued requests from one tick to the next, under each task's key.
//
// Per step, on each CPU: background load (seeded on/off bursts) takes the
// CPU first; then the task that ran keeps it while its slice lasts. Under
// EEVDF the eligible task with the earliest virtual deadline runs next;
// under CFS a waking task more than the wake-up granularity behind
// preempts at once, and otherwise the lowest virtual runtime runs once the
// slice is over at a scheduler tick. A CPU a task leaves part way through a
// step goes to the next task. A task that gets work after having none is runnable only after
// the scheduling latency. Quota budgets refill every period; a task that
// spends its budget is throttled until the next one, and comes back with
// the virtual runtime it left with, so it runs in a burst.
//
// The free parameters of a machine are a Profile; calibration fits them from
// a real run. The model is deterministic: its only randomness is a PCG
// seeded by the caller, and tasks are visited in key order.
package cfs
