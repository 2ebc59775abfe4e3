package main

import (
	"strings"
	"testing"
)

func TestParseBenchAndCheckTargets(t *testing.T) {
	out := `goos: linux
pkg: github.com/sluice-io/sluice/policies
BenchmarkDecide/containers=20-2   	   12000	     85210 ns/op	   41024 B/op	     900 allocs/op
pkg: github.com/sluice-io/sluice/cmd/sluice
BenchmarkReplay-2   	      10	 101000000 ns/op	      8500 events/s
PASS
`
	results, err := parseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("parsed %d results, want 2: %+v", len(results), results)
	}
	decide := results[0]
	if decide.Name != "BenchmarkDecide/containers=20" || decide.Package != "github.com/sluice-io/sluice/policies" ||
		decide.Iterations != 12000 || decide.Metrics["ns/op"] != 85210 || decide.Metrics["allocs/op"] != 900 {
		t.Fatalf("decide = %+v", decide)
	}
	met := map[string]bool{}
	for _, target := range checkTargets(results) {
		if target.Value == nil {
			t.Fatalf("target %s has no value", target.Benchmark)
		}
		met[target.Benchmark] = target.Met
	}
	if !met["BenchmarkDecide/containers=20"] || met["BenchmarkReplay"] {
		t.Fatalf("met = %v, want decide met (85 µs ≤ 100 µs) and replay missed (8500 < 10000 events/s)", met)
	}
}
