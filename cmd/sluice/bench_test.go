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
BenchmarkAgentIdle/containers=20-2         	       1	         1.250 cpu-%	        59.00 rss-MiB	76682320 B/op	  312110 allocs/op
BenchmarkAgentHistoryRSS/history=1200-2    	       1	         0 ns/op	        12.50 db-MiB	        70.25 restart-rss-MiB	        58.00 rss-MiB
BenchmarkLoopLatency-2   	       1	       121.0 decisions	        98.06 max-ms	         8.415 p50-ms	        44.16 p99-ms
pkg: github.com/sluice-io/sluice/agent
BenchmarkAgentReads/ratio-2            	       1	         0.9695 ratio-bytes	         1.350 ratio-events
pkg: github.com/sluice-io/sluice/sensors/traces
BenchmarkOTLPGRPCIntake-2   	       3	 512000000 ns/op	        16.20 peak-heap-MiB	    650000 spans/s
pkg: github.com/sluice-io/sluice/state
BenchmarkEtcdReconnect-2   	       1	        12.54 default-reconnect-s	         0.005000 reconnect-s
PASS
`
	results, err := parseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 8 {
		t.Fatalf("parsed %d results, want 8: %+v", len(results), results)
	}
	decide := results[0]
	if decide.Name != "BenchmarkDecide/containers=20" || decide.Package != "github.com/sluice-io/sluice/policies" ||
		decide.Iterations != 12000 || decide.Metrics["ns/op"] != 85210 || decide.Metrics["allocs/op"] != 900 {
		t.Fatalf("decide = %+v", decide)
	}
	met := map[string]bool{}
	for _, target := range checkTargets(results) {
		if target.Value == nil {
			t.Fatalf("target %s %s has no value", target.Benchmark, target.Metric)
		}
		met[target.Benchmark+" "+target.Metric] = target.Met
	}
	want := map[string]bool{
		"BenchmarkDecide/containers=20 ns/op":                   true,  // 85 µs ≤ 100 µs
		"BenchmarkReplay events/s":                              false, // 8500 < 10000
		"BenchmarkAgentIdle/containers=20 cpu-%":                false, // 1.25 > 1
		"BenchmarkAgentIdle/containers=20 rss-MiB":              true,  // 59 ≤ 64
		"BenchmarkLoopLatency p99-ms":                           true,  // 44 ≤ 50
		"BenchmarkOTLPGRPCIntake spans/s":                       true,  // 650,000 ≥ 100,000
		"BenchmarkEtcdReconnect reconnect-s":                    true,  // 0.005 ≤ 2
		"BenchmarkAgentReads/ratio ratio-bytes":                 true,  // 0.97 ≤ 1.2
		"BenchmarkAgentReads/ratio ratio-events":                false, // 1.35 > 1.2
		"BenchmarkAgentHistoryRSS/history=1200 rss-MiB":         true,  // 58 ≤ 64
		"BenchmarkAgentHistoryRSS/history=1200 restart-rss-MiB": false, // 70.25 > 64
	}
	for target, ok := range want {
		if got, checked := met[target]; !checked || got != ok {
			t.Errorf("target %s: met %v (checked %v), want %v", target, got, checked, ok)
		}
	}
}
