// Package cgroup reads and writes a container's CPU and memory settings in
// its cgroup, on cgroup v1 and v2.
//
// A Controller implements reconciler.CPUController. For each call it
//
//  1. finds the container's Group: from /proc/<pid>/cgroup when a PIDs
//     lookup is configured (right for any cgroup driver or parent), else at
//     the paths Docker's cgroupfs and systemd drivers use (DriverGroups);
//  2. computes a plan, the ordered (file, value) writes for the desired
//     settings on this cgroup version (PlanCPU, PlanMemory), without I/O;
//  3. applies the plan with FS under the configured root.
//
// Reads go the other way: the same files are read and parsed. Stats reads
// cumulative CPU usage and throttling through the containerd cgroups
// library. Tests point Root and ProcRoot at fixture trees and run the very
// same code a node runs.
package cgroup
