// Package cpu is the simulator's CPU model: how a Linux node's CFS shares
// its CPUs among containers over one tick, as a pure function.
//
// A Task is a container's situation for the tick: its cpuset, CFS shares,
// optional quota (in cores) and demand (in cores). Allocate returns, per
// task, the CPU it ran, the time it waited runnable, the share of the tick
// its quota kept it throttled, and what limited it. The model is fluid: it
// treats CPU time as infinitely divisible and context switches as free, so
// it gives the long-run averages CFS converges to, not its per-millisecond
// behaviour. docs/simulator.md states the assumptions and limits.
//
// The allocation is weighted max-min fairness. Every task's usage rises in
// proportion to its shares until it reaches its demand, its quota or the
// size of its cpuset, or until the CPUs it may use are all busy; CPU left
// over by a task that wants less goes to the others (work-conserving). The
// tests check it against two naive versions: progressive filling in tiny
// steps with a brute-force placement check, and a time-sliced scheduler
// that runs the lowest virtual runtime first and spends quota budgets
// period by period.
package cpu
