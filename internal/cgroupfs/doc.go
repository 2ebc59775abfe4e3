// Package cgroupfs holds the cgroup filesystem as sluice reads and writes
// it, on v1 and v2: which version a root speaks (DetectVersionAt), where a
// process's group is (GroupOfPID, GroupFromProcCgroup) and where each
// controller's files of a group live (Group.Dir), and the formats of the
// files themselves: CFS quota and period, cpu.max, shares and their v2
// weights, cpu.stat, cpuset.cpus, task lists and cpu.pressure.
//
// Both sides of the loop use it: the sensors read a container's counters
// and settings from the files, the cgroup actuator writes the settings,
// and what one writes the other reads in the same scale. It depends on
// neither, so the sensors need nothing from the actuators.
//
// Every parser is a pure function of a file's content, tested on literal
// strings; the few functions that touch the filesystem take its root, so
// tests run them against fixture trees.
package cgroupfs
