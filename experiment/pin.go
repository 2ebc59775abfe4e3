package experiment

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// pinAwayFromScenario pins every thread of this process to the CPUs it may
// run on that no container of the scenario is pinned to, and returns the
// function that gives every thread the process's previous CPUs back. The
// control loop then never takes CPU time from the victim. When no CPU is
// left over it pins nothing and says so.
func pinAwayFromScenario(sc scenario.Scenario) (restore func(), err error) {
	noop := func() {}
	var previous unix.CPUSet
	if err := unix.SchedGetaffinity(0, &previous); err != nil {
		return noop, fmt.Errorf("read this process's CPUs: %w", err)
	}
	used, err := scenarioCPUs(sc)
	if err != nil {
		return noop, err
	}
	free := previous
	for _, cpu := range used {
		free.Clear(cpu)
	}
	if free.Count() == 0 {
		return noop, fmt.Errorf("no CPU is free of the scenario's containers (they use %v)", used)
	}
	if err := setEveryThread(&free); err != nil {
		setEveryThread(&previous)
		return noop, err
	}
	return func() { setEveryThread(&previous) }, nil
}

// scenarioCPUs lists the CPUs any container of the scenario is pinned to.
func scenarioCPUs(sc scenario.Scenario) ([]int, error) {
	var used []int
	for _, app := range sc.Apps {
		for _, c := range app.Spec.Containers {
			if c.CPUSet == "" {
				continue
			}
			cpus, err := state.ParseCPUSet(c.CPUSet)
			if err != nil {
				return nil, fmt.Errorf("cpuset of %s: %w", state.ContainerID(app.Spec.Name, c.Name), err)
			}
			used = append(used, cpus...)
		}
	}
	slices.Sort(used)
	return slices.Compact(used), nil
}

// setEveryThread sets the CPUs of each of the process's threads: the
// affinity call applies to one thread, and the Go runtime runs many. New
// threads inherit the CPUs of the thread that creates them.
func setEveryThread(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("list this process's threads: %w", err)
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		// A thread that exited since the listing is no error.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("set the CPUs of thread %d: %w", tid, err)
		}
	}
	return nil
}
