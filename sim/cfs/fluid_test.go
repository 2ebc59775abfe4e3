package cfs

import (
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/sluice-io/sluice/sim/cpu"
)

// steadyNode is a random node of containers with steady demands: over
// a few seconds the timed model must give each the share the fluid model
// computes, the long-run average of the same scheduler.
type steadyNode struct {
	CPUs  int
	Tasks []cpu.Task
}

func (steadyNode) Generate(r *rand.Rand, _ int) reflect.Value {
	n := steadyNode{CPUs: 1 + r.Intn(2)}
	for range 1 + r.Intn(4) {
		t := cpu.Task{Shares: []uint64{256, 1024, 1024, 4096}[r.Intn(4)], Demand: []float64{0.3, 0.6, 1, 2}[r.Intn(4)]}
		// Pinned to one CPU: with a mix of pinned and unpinned containers
		// the fluid model places work perfectly, which a scheduler without
		// a load balancer does not (docs/simulator.md).
		t.CPUs = cpu.Mask(1) << r.Intn(n.CPUs)
		if r.Intn(3) == 0 {
			t.QuotaCores = []float64{0.2, 0.5, 1.5}[r.Intn(3)]
		}
		n.Tasks = append(n.Tasks, t)
	}
	return reflect.ValueOf(n)
}

func TestTimedModelAveragesToTheFluidModel(t *testing.T) {
	for _, scheduler := range []string{SchedulerEEVDF, SchedulerCFS} {
		agrees := func(n steadyNode) bool {
			want, err := cpu.Allocate(n.CPUs, n.Tasks)
			if err != nil {
				t.Logf("%+v: %v", n, err)
				return false
			}
			m, err := NewMachine(n.CPUs, Profile{Scheduler: scheduler}.WithDefaults(), 1)
			if err != nil {
				t.Fatal(err)
			}
			tasks := make([]Task, len(n.Tasks))
			for i, ft := range n.Tasks {
				cores := ft.CPUs.Count()
				if ft.CPUs == 0 {
					cores = n.CPUs
				}
				tasks[i] = Task{Key: string(rune('a' + i)), CPUs: ft.CPUs, Shares: ft.Shares, QuotaCores: ft.QuotaCores,
					Demand: ft.Demand, Threads: max(1, min(cores, int(math.Ceil(ft.Demand))))}
			}
			var got []Result
			for range 2 { // the first second settles the run queues
				if got, err = m.Run(tasks, 1); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tasks {
				if math.Abs(got[i].Usage-want[i].Usage) > 0.03 {
					t.Logf("%s %d CPUs %+v: task %d usage %.3f, fluid %.3f", scheduler, n.CPUs, n.Tasks, i, got[i].Usage, want[i].Usage)
					return false
				}
			}
			return true
		}
		if err := quick.Check(agrees, &quick.Config{MaxCount: 100, Rand: rand.New(rand.NewSource(3))}); err != nil {
			t.Error(err)
		}
	}
}
