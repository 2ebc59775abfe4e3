package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/experiment"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

type experimentOptions struct {
	mode          string
	out           string
	store         string
	policyDir     string
	durationScale float64
	tracePorts    map[string]int
	output        string
}

func newExperimentCommand(opts *globalOptions) *cobra.Command {
	cmd := groupCommand("experiment", "Run interference experiments")
	cmd.AddCommand(newExperimentRunCommand(opts, "run FILE", "Run a scenario's phases and write timeseries.csv, plot.svg, events.jsonl and summary.json", "sim"),
		newExperimentViewCommand(opts), newExperimentCompareCommand(opts), newExperimentCalibrateCommand(opts))
	return cmd
}

func newSimCommand(opts *globalOptions) *cobra.Command {
	cmd := groupCommand("sim", "Run scenarios on the simulated node")
	run := newExperimentRunCommand(opts, "run FILE", "Run a scenario in the simulator (experiment run --mode sim)", "sim")
	run.Flags().Lookup("mode").Hidden = true
	cmd.AddCommand(run)
	return cmd
}

func newExperimentRunCommand(opts *globalOptions, use, short, mode string) *cobra.Command {
	eo := &experimentOptions{mode: mode}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExperiment(cmd, opts, eo, args[0])
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&eo.mode, "mode", mode, "where to run: sim (the simulated node) or real (containers on this host's Docker engine)")
	flags.StringVar(&eo.out, "out", "", "output directory (default out/<scenario>)")
	flags.StringVar(&eo.store, "store", "memory", "store of each phase: memory or etcd (an embedded server per phase)")
	flags.StringVar(&eo.policyDir, "policy", "", "policy directory (default: the scenario's policy_dir)")
	flags.Float64Var(&eo.durationScale, "duration-scale", 1, "shorten (or lengthen) every phase by this factor")
	flags.StringToIntVar(&eo.tracePorts, "traces-ports", nil, "--mode real: the trace receivers' ports, as "+tracesPortsExample+" (default: any free ports, which the containers are told of)")
	addOutputFlag(cmd, &eo.output)
	return cmd
}

func runExperiment(cmd *cobra.Command, opts *globalOptions, eo *experimentOptions, file string) error {
	if eo.durationScale <= 0 {
		return fmt.Errorf("--duration-scale %g: must be > 0", eo.durationScale)
	}
	if eo.mode != "sim" && eo.mode != "real" {
		return fmt.Errorf("--mode %s: unknown mode (want sim or real)", eo.mode)
	}
	sc, err := scenario.Load(file)
	if err != nil {
		return err
	}
	scaled := sc.Scaled(eo.durationScale)
	bundle, err := policies.LoadDir(firstNonEmpty(eo.policyDir, scaled.PolicyDir))
	if err != nil {
		return err
	}
	stores, err := storeFactory(eo.store)
	if err != nil {
		return err
	}
	out := firstNonEmpty(eo.out, filepath.Join("out", scaled.Name))
	start := time.Now()
	cfg := experiment.Config{
		Scenario: &scaled, Bundle: bundle, Stores: stores, Logger: opts.quietLogger(cmd), Progress: opts.stderr,
		Live: isTerminal(opts.stderr),
	}
	res, err := runMode(cmd.Context(), eo, cfg)
	if err != nil {
		return err
	}
	if err := experiment.WriteOutputs(out, scaled, res); err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "%s: %d phases in %.1f s wall time, outputs in %s\n",
		scaled.Name, len(scaled.Phases), time.Since(start).Seconds(), out)
	return renderSummary(opts, eo.output, res)
}

// runMode runs the experiment where asked. A real run ends on an
// interrupt like on an error: its containers are removed before it returns.
func runMode(ctx context.Context, eo *experimentOptions, cfg experiment.Config) (*experiment.Result, error) {
	if eo.mode == "sim" {
		return experiment.Run(ctx, cfg)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return experiment.RunReal(ctx, experiment.RealConfig{Config: cfg, TracePorts: eo.tracePorts})
}

func renderSummary(opts *globalOptions, output string, res *experiment.Result) error {
	return render(opts.stdout, output, res.Summary, func(t *table) {
		t.row("PHASE", "CONTROL", "SATISFACTION", "BACKLOG P99 (CPU-s)", "HOG SHARE OF FREE", "UTILIZATION", "TIME TO SHIELD (s)")
		for _, p := range res.Summary.Phases {
			t.row(p.Name, p.Control, fmt.Sprintf("%.3f", p.VictimCPUSatisfaction), fmt.Sprintf("%.3f", p.VictimBacklogP99CPUSeconds),
				optional(p.HogShareOfFreeCPU), fmt.Sprintf("%.3f", p.SharedCPUUtilization), optional(p.TimeToShieldSeconds))
		}
	})
}

func optional(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// storeFactory gives each phase a fresh store of the chosen kind.
func storeFactory(kind string) (experiment.StoreFactory, error) {
	switch kind {
	case "memory":
		return experiment.MemoryStores, nil
	case "etcd":
		return embeddedStores, nil
	default:
		return nil, fmt.Errorf("--store %s: unknown store (want memory or etcd)", kind)
	}
}

// embeddedStores starts a throwaway etcd server per phase. Its logs are
// dropped: a failure surfaces as an error of the run itself.
func embeddedStores(phase string) (state.Store, func() error, error) {
	{
		dir, err := os.MkdirTemp("", "sluice-phase-"+phase+"-")
		if err != nil {
			return nil, nil, err
		}
		server, err := state.StartEmbedded(state.EmbeddedConfig{
			DataDir: dir, ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		})
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		cli, err := server.Client()
		if err != nil {
			server.Close()
			os.RemoveAll(dir)
			return nil, nil, err
		}
		store := state.Bounded(state.NewEtcdStore(cli), state.DefaultCallTimeout)
		return store, func() error {
			store.Close()
			cli.Close()
			err := server.Close()
			os.RemoveAll(dir)
			return err
		}, nil
	}
}
