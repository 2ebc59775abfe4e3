package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/experiment"
	"github.com/sluice-io/sluice/internal/fsutil"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/sim/scenario"
)

func newExperimentCompareCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "compare SIM-DIR REAL-DIR",
		Short: "Set a simulated run beside a real run of the same scenario, phase by phase",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sim, err := experiment.ReadSummary(args[0])
			if err != nil {
				return err
			}
			real, err := experiment.ReadSummary(args[1])
			if err != nil {
				return err
			}
			c, err := experiment.Compare(sim, real)
			if err != nil {
				return fmt.Errorf("compare %s with %s: %w", args[0], args[1], err)
			}
			return renderComparison(opts, output, c)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func renderComparison(opts *globalOptions, output string, c experiment.Comparison) error {
	err := render(opts.stdout, output, c, func(t *table) {
		t.row("PHASE", "FIGURE", "SIM", "REAL", "DIFFERENCE", "")
		for _, p := range c.Phases {
			for _, f := range p.Figures {
				mark := ""
				if !f.Within {
					mark = "EXCEEDS"
				}
				delta := optional(f.Delta)
				if f.Figure == experiment.FigureP99 && f.Delta != nil {
					delta = "×" + delta
				}
				t.row(p.Name, f.Figure, optional(f.Sim), optional(f.Real), delta, mark)
			}
		}
	})
	if err != nil || output == "json" {
		return err
	}
	fmt.Fprintf(opts.stdout, "\nwithin tolerance: %v (|Δsat| ≤ %g, |Δhog| ≤ %g, |ΔSLO| ≤ %g, p99 within ×%g)\n",
		c.Within, experiment.SatisfactionTolerance, experiment.HogShareTolerance, experiment.SLOTolerance, experiment.P99Factor)
	fmt.Fprintf(opts.stdout, "sim ranking:  %v\nreal ranking: %v\nsame ranking: %v", c.SimRanking, c.RealRanking, c.SameRanking)
	for _, d := range c.Disagreements {
		fmt.Fprintf(opts.stdout, " (real ranks %s before %s)", d[0], d[1])
	}
	fmt.Fprintln(opts.stdout)
	return nil
}

type calibrateOptions struct {
	scenario, base, out, policyDir string
}

func newExperimentCalibrateCommand(opts *globalOptions) *cobra.Command {
	co := &calibrateOptions{}
	cmd := &cobra.Command{
		Use:   "calibrate DIR-REAL",
		Short: "Fit the simulator's node profile to a real run and write it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCalibrate(cmd, opts, co, args[0])
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&co.scenario, "scenario", "", "the scenario the real run ran (default examples/experiments/<its name>.yaml)")
	flags.StringVar(&co.base, "profile", "", "profile to start from; its fields that are not fitted are kept (default: the kernel's defaults)")
	flags.StringVar(&co.out, "out", "", "write the profile to this file (default: standard output)")
	flags.StringVar(&co.policyDir, "policy", "", "policy directory (default: the scenario's policy_dir)")
	return cmd
}

func runCalibrate(cmd *cobra.Command, opts *globalOptions, co *calibrateOptions, realDir string) error {
	file := co.scenario
	if file == "" {
		summary, err := experiment.ReadSummary(realDir)
		if err != nil {
			return err
		}
		file = filepath.Join("examples", "experiments", summary.Scenario+".yaml")
	}
	sc, err := scenario.Load(file)
	if err != nil {
		return err
	}
	bundle, err := policies.LoadDir(firstNonEmpty(co.policyDir, sc.PolicyDir))
	if err != nil {
		return err
	}
	base := cfs.Defaults
	if co.base != "" {
		if base, err = cfs.LoadProfile(co.base); err != nil {
			return err
		}
	}
	fit, err := experiment.Calibrate(cmd.Context(), experiment.CalibrateConfig{
		Scenario: sc, Bundle: bundle, RealDir: realDir, Base: base, Logger: opts.quietLogger(cmd),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "calibrated on %s (phases %v): cost %.3f after %d simulations\n", realDir, fit.Phases, fit.Cost, fit.Tried)
	if co.out == "" {
		return fit.Profile.WriteYAML(opts.stdout)
	}
	return fsutil.WriteFile(co.out, func(w io.Writer) error { return fit.Profile.WriteYAML(w) })
}
