package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// benchResult is one benchmark line of `go test -bench` output.
type benchResult struct {
	Package    string             `json:"package"`
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// benchTarget is a figure the project promises, checked against a metric.
type benchTarget struct {
	Benchmark string   `json:"benchmark"`
	Metric    string   `json:"metric"`
	AtMost    *float64 `json:"at_most,omitempty"`
	AtLeast   *float64 `json:"at_least,omitempty"`
	Value     *float64 `json:"value"`
	Met       bool     `json:"met"`
	What      string   `json:"what"`
}

func atMost(v float64) *float64  { return &v }
func atLeast(v float64) *float64 { return &v }

// benchTargets are the targets the issues set, by benchmark name (without
// the -GOMAXPROCS suffix).
func benchTargets() []benchTarget {
	return []benchTarget{
		{Benchmark: "BenchmarkDecide/containers=20", Metric: "ns/op", AtMost: atMost(100_000),
			What: "policy evaluation per decision, node of 20 containers"},
		{Benchmark: "BenchmarkReplay", Metric: "events/s", AtLeast: atLeast(10_000),
			What: "replay speed of a recorded experiment"},
		{Benchmark: "BenchmarkAgentIdle/containers=20", Metric: "cpu-%", AtMost: atMost(1),
			What: "the agent's CPU, % of one core, 1 s interval, 20 idle Docker containers"},
		{Benchmark: "BenchmarkAgentIdle/containers=20", Metric: "rss-MiB", AtMost: atMost(64),
			What: "the agent's peak resident memory, 1 s interval, 20 idle Docker containers"},
		{Benchmark: "BenchmarkAgentHistoryRSS/history=1200", Metric: "rss-MiB", AtMost: atMost(64),
			What: "the agent's peak resident memory once the default history window is full (an hour written, compacted, defragmented)"},
		{Benchmark: "BenchmarkAgentHistoryRSS/history=1200", Metric: "restart-rss-MiB", AtMost: atMost(64),
			What: "the agent's peak resident memory restarted on that data dir"},
		{Benchmark: "BenchmarkLoopLatency", Metric: "p99-ms", AtMost: atMost(50),
			What: "observation written to quota applied in the cgroup, p99, shield policy on a real node"},
		{Benchmark: "BenchmarkOTLPGRPCIntake", Metric: "spans/s", AtLeast: atLeast(100_000),
			What: "spans taken in through OTLP gRPC on one core, bounded memory"},
		{Benchmark: "BenchmarkEtcdReconnect", Metric: "reconnect-s", AtMost: atMost(2),
			What: "first write after a 30 s outage of the only etcd member, from its return"},
		{Benchmark: "BenchmarkAgentReads/ratio", Metric: "ratio-bytes", AtMost: atMost(1.2),
			What: "an agent's etcd read bytes/s with 100 other nodes on its etcd, over those with 1"},
		{Benchmark: "BenchmarkAgentReads/ratio", Metric: "ratio-events", AtMost: atMost(1.2),
			What: "an agent's watch events/s with 100 other nodes on its etcd, over those with 1"},
	}
}

type benchSummary struct {
	Benchmarks []benchResult `json:"benchmarks"`
	Targets    []benchTarget `json:"targets"`
}

func newBenchCommand(opts *globalOptions) *cobra.Command {
	cmd := groupCommand("bench", "Work with benchmark results, and measure a cluster")
	cmd.AddCommand(newBenchClusterCommand(opts), newBenchClusterPlotCommand(opts))
	cmd.AddCommand(&cobra.Command{
		Use:   "summarize FILE",
		Short: "Turn `go test -bench` output into JSON, with the project's targets checked",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			results, err := parseBench(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return render(opts.stdout, "json", benchSummary{Benchmarks: results, Targets: checkTargets(results)}, nil)
		},
	})
	return cmd
}

func parseBench(r io.Reader) ([]benchResult, error) {
	var results []benchResult
	pkg := ""
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		line := scanner.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if res, ok := parseBenchLine(line); ok {
			res.Package = pkg
			results = append(results, res)
		}
	}
	return results, scanner.Err()
}

// parseBenchLine reads "BenchmarkX-2  1000  123 ns/op  4 B/op  9e3 events/s".
func parseBenchLine(line string) (benchResult, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
		return benchResult{}, false
	}
	iterations, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return benchResult{}, false
	}
	res := benchResult{Name: trimProcs(fields[0]), Iterations: iterations, Metrics: map[string]float64{}}
	for i := 2; i+1 < len(fields); i += 2 {
		value, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return benchResult{}, false
		}
		res.Metrics[fields[i+1]] = value
	}
	return res, true
}

// trimProcs drops the "-N" GOMAXPROCS suffix go test adds to names.
func trimProcs(name string) string {
	if i := strings.LastIndex(name, "-"); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func checkTargets(results []benchResult) []benchTarget {
	byName := map[string]benchResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	targets := benchTargets()
	for i := range targets {
		t := &targets[i]
		res, ok := byName[t.Benchmark]
		if !ok {
			continue
		}
		if v, ok := res.Metrics[t.Metric]; ok {
			t.Value = &v
			t.Met = (t.AtMost == nil || v <= *t.AtMost) && (t.AtLeast == nil || v >= *t.AtLeast)
		}
	}
	sort.SliceStable(targets, func(i, j int) bool { return targets[i].Benchmark < targets[j].Benchmark })
	return targets
}
