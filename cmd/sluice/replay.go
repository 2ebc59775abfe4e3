package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/state"
)

func newReplayCommand(opts *globalOptions) *cobra.Command {
	var policyDir, output string
	cmd := &cobra.Command{
		Use:   "replay FILE|DIR",
		Short: "Re-derive every recorded decision from its recorded inputs",
		Long: `Replay folds a recording's events and re-evaluates every decision on the
view it was made on; a directory is an archive of sluice record --follow,
replayed as one recording. With the recording's own policy (the default) every
decision must come out identical; with --policy DIR it shows what another
policy would have decided on the same inputs.`,
		Example: `  sluice replay out/shield-sine/events.jsonl
  sluice replay out/shield-sine/events.jsonl --policy my-policies/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := readRecording(args[0])
			if err != nil {
				return err
			}
			bundle, err := replayBundle(rec, policyDir)
			if err != nil {
				return err
			}
			engine, err := policies.NewEngine(cmd.Context(), bundle)
			if err != nil {
				return err
			}
			start := time.Now()
			result, err := policies.Replay(cmd.Context(), engine, rec)
			if err != nil {
				return fmt.Errorf("replay %s: %w", args[0], err)
			}
			elapsed := time.Since(start).Seconds()
			fmt.Fprintf(opts.stderr, "replayed %d events in %.2f s (%.0f events/s)\n",
				result.Events, elapsed, float64(result.Events)/elapsed)
			return render(opts.stdout, output, result, func(t *table) { fillReplay(t, result) })
		},
	}
	cmd.Flags().StringVar(&policyDir, "policy", "", "evaluate this policy directory instead of the recording's policy")
	addOutputFlag(cmd, &output)
	return cmd
}

// readRecording reads a recording file, or an archive directory that
// sluice record --follow wrote.
func readRecording(path string) (state.Recording, error) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return state.ReadArchive(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return state.Recording{}, err
	}
	defer f.Close()
	rec, err := state.ReadRecording(f)
	if err != nil {
		return state.Recording{}, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}

func replayBundle(rec state.Recording, policyDir string) (*policies.Bundle, error) {
	if policyDir != "" {
		return policies.LoadDir(policyDir)
	}
	bundle, err := policies.RecordedBundle(rec)
	if errors.Is(err, policies.ErrNoRecordedPolicy) {
		return nil, fmt.Errorf("%w: give one with --policy DIR", err)
	}
	return bundle, err
}

func fillReplay(t *table, r policies.ReplayResult) {
	t.row("decisions:", r.Decisions, "identical:", r.Identical, "differing:", len(r.Differing))
	if len(r.Differing) == 0 {
		return
	}
	t.row("SEGMENT", "VIEW REVISION", "TIME", "CONTAINER", "RECORDED", "REPLAYED")
	for _, d := range r.Differing {
		if d.Error != "" {
			t.row(d.Segment, d.ViewRevision, d.Time, "-", "decision", "error: "+d.Error)
		}
		if d.Error == "" && len(d.Changes) == 0 {
			t.row(d.Segment, d.ViewRevision, d.Time, "-", "same settings", "other reasons or carry")
		}
		for _, c := range d.Changes {
			t.row(d.Segment, d.ViewRevision, d.Time, c.Container, c.Recorded, c.Replayed)
		}
	}
}
