// Package cgroup writes and reads back a container's CPU settings in its
// cgroup (quota, shares, cpuset), on cgroup v1 and v2.
//
// A Controller has the methods of the reconciler's CPUController. For each
// call it
//
//  1. finds the container's group: from /proc/<pid>/cgroup when a PIDs
//     lookup is configured (right for any cgroup driver or parent), else at
//     the paths Docker's cgroupfs and systemd drivers use (DriverGroups);
//  2. computes a plan, the ordered (file, value) writes for the desired
//     settings on this cgroup version (PlanCPU), without I/O;
//  3. applies the plan with FS under the configured root.
//
// Reads go the other way: the same files are read and parsed. Where groups
// live and what their files hold is package internal/cgroupfs, which the
// sensors read the same files with, so a setting reads back alike on both
// sides. Tests point Root and ProcRoot at fixture trees and run the very
// same code a node runs.
package cgroup
