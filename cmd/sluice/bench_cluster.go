package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/clusterbench"
	"github.com/sluice-io/sluice/internal/etcdcluster"
	"github.com/sluice-io/sluice/state"
)

type benchClusterOptions struct {
	cfg        clusterbench.Config
	output     string
	cpuProfile string
}

func newBenchClusterCommand(opts *globalOptions) *cobra.Command {
	bo := &benchClusterOptions{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Measure sluice on an etcd cluster with many simulated nodes",
		Long: `Starts an etcd cluster of --etcd-members processes (sluice etcd cluster)
and --nodes simulated nodes, each the agent's own code on the simulated
runtime with three apps (a latency-critical service, a CPU hog beside it and
a batch job), all in this process. Once every app is ready it measures for
--duration and prints one result; progress goes to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := bo.prepare(opts); err != nil {
				return err
			}
			if bo.cfg.Dir == "" {
				dir, err := os.MkdirTemp("", "sluice-bench-cluster-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				bo.cfg.Dir = dir
			}
			if bo.cpuProfile != "" {
				stopProfile, err := startCPUProfile(bo.cpuProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
			}
			result, err := clusterbench.Run(ctx, bo.cfg)
			if err != nil {
				return err
			}
			return renderClusterBench(opts, bo.output, result)
		},
	}
	flags := cmd.Flags()
	flags.IntVar(&bo.cfg.Nodes, "nodes", 10, "simulated nodes")
	flags.IntVar(&bo.cfg.Members, "etcd-members", 3, "etcd members, each a process")
	flags.DurationVar(&bo.cfg.Interval, "interval", time.Second, "every node's interval")
	flags.DurationVar(&bo.cfg.Duration, "duration", time.Minute, "how long to measure once every app is ready")
	flags.StringVar(&bo.cfg.Binary, "etcd-binary", "", "the etcd server to run (default: the one pinned in go.mod, built with `go tool`)")
	flags.StringVar(&bo.cfg.Dir, "data-dir", "", "where the members keep their data and logs (default: a temporary directory, removed after)")
	bo.cfg.History = state.DefaultRetention
	flags.Var(&bo.cfg.History, "history", "how much of the event log the members keep when they compact: a duration or a number of revisions")
	flags.StringVar(&bo.cpuProfile, "cpu-profile", "", "write a CPU profile of the agents' process to this file")
	addOutputFlag(cmd, &bo.output)
	return cmd
}

func (bo *benchClusterOptions) prepare(opts *globalOptions) error {
	if bo.cfg.Nodes < 1 || bo.cfg.Duration <= 0 {
		return fmt.Errorf("--nodes %d --duration %v: want at least one node and a duration", bo.cfg.Nodes, bo.cfg.Duration)
	}
	bo.cfg.Progress = opts.stderr
	if bo.cfg.Binary != "" {
		return nil
	}
	fmt.Fprintln(opts.stderr, "building the pinned etcd server (go tool -n "+etcdcluster.ServerTool+")")
	binary, err := etcdcluster.ServerBinary()
	bo.cfg.Binary = binary
	return err
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func renderClusterBench(opts *globalOptions, output string, r clusterbench.Result) error {
	return render(opts.stdout, output, r, func(t *table) {
		t.row("NODES", "MEMBERS", "INTERVAL", "TICKS", "DECISION P50/P99/MAX ms", "READ B/s/NODE", "WRITES/s/NODE", "EVENTS/s/NODE", "ETCD CORES", "AGENT CORES")
		t.row(r.Nodes, r.EtcdMembers, fmt.Sprintf("%gs", r.IntervalSeconds),
			fmt.Sprintf("%d/%d", r.TicksObserved, r.TicksExpected),
			fmt.Sprintf("%.1f/%.1f/%.1f", r.DecisionLatencyMs.P50, r.DecisionLatencyMs.P99, r.DecisionLatencyMs.Max),
			fmt.Sprintf("%.0f", r.PerNodeEtcdReadBytesPerSecond), fmt.Sprintf("%.2f", r.PerNodeEtcdWritesPerSecond),
			fmt.Sprintf("%.2f", r.PerNodeWatchEventsPerSecond), fmt.Sprintf("%.2f", r.EtcdCPUCores), fmt.Sprintf("%.2f", r.AgentsCPUCores))
	})
}

func newBenchClusterPlotCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-plot RESULT.json...",
		Short: "Draw results of sluice bench cluster -o json as SVG: per-node reads and decision p99 against nodes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			results := make([]clusterbench.Result, len(args))
			for i, path := range args {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, &results[i]); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			return clusterbench.WritePlot(opts.stdout, results)
		},
	}
}
