package sim

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// BenchmarkNodeTick is one whole tick of a node of 20 containers: demands,
// the CPU model, work queues and the observation.
func BenchmarkNodeTick(b *testing.B) {
	for _, cpus := range []int{2, 8} {
		b.Run(fmt.Sprintf("containers=20/cpus=%d", cpus), func(b *testing.B) {
			n, err := NewNode(NodeConfig{Name: "bench", CPUs: cpus, Epoch: epoch, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			for i := range 20 {
				spec := hogSpec()
				if i%2 == 0 {
					spec = victimSpec()
				}
				spec.CPUSet = fmt.Sprint(i % cpus)
				if i%3 == 0 {
					spec.CPUSet = ""
				}
				if _, err := n.Create(context.Background(), fmt.Sprintf("app%02d", i), spec, "g", "h"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			var obs state.Observation
			for b.Loop() {
				obs = n.Tick(tick)
			}
			if len(obs.Containers) != 20 {
				b.Fatalf("observed %d containers, want 20", len(obs.Containers))
			}
		})
	}
}

// BenchmarkWorkQueueServe is one tick of one work queue with its latency:
// a held-back queue with a backlog and 200 requests arriving.
func BenchmarkWorkQueueServe(b *testing.B) {
	q := WorkQueue{Backlog: 0.1}
	b.ReportAllocs()
	for b.Loop() {
		q.Backlog = 0.1
		if _, latency := q.Serve(0.2, 0.5, 0.25); latency == nil {
			b.Fatal("no latency")
		}
	}
}
