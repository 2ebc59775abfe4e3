package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchTasks is a busy node: n containers on cpus CPUs, a third of them
// pinned to one CPU, a third to a pair, the rest unpinned; every fourth has
// a quota, demands span idle to more than a core.
func benchTasks(cpus, n int) []Task {
	r := rand.New(rand.NewPCG(1, 2))
	tasks := make([]Task, n)
	for i := range tasks {
		t := Task{Shares: []uint64{128, 512, 1024, 2048}[i%4], Demand: 1.5 * r.Float64()}
		switch i % 3 {
		case 0:
			t.CPUs = 1 << (i % cpus)
		case 1:
			t.CPUs = (3 << (i % (cpus - 1))) & AllCPUs(cpus)
		}
		if i%4 == 0 {
			t.QuotaCores = 0.1 + 0.5*r.Float64()
		}
		tasks[i] = t
	}
	return tasks
}

func BenchmarkAllocate(b *testing.B) {
	for _, cpus := range []int{2, 8} {
		b.Run(fmt.Sprintf("containers=20/cpus=%d", cpus), func(b *testing.B) {
			tasks := benchTasks(cpus, 20)
			var a Allocator
			out := make([]Share, len(tasks))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = a.Allocate(cpus, tasks, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
