package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/internal/fsutil"
	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/state"
)

type recordOptions struct {
	from, to  int64
	out       string
	policyDir string
	// follow is the archive directory of --follow; maxEvents its rotation.
	follow    string
	maxEvents int
}

func newRecordCommand(opts *globalOptions) *cobra.Command {
	ro := &recordOptions{}
	cmd := &cobra.Command{
		Use:   "record",
		Short: "Write the event log between two revisions as a recording (events.jsonl)",
		Long: `Record reads the store's history between --from and --to and writes it
with the policy in force, so that sluice replay can re-derive every decision
from the file alone. The policy is the one stored under /sluice/policies/,
else the --policy directory, else the policy built into sluice, which an
agent without --policy-dir runs.

The history is only what etcd has not compacted: the embedded etcd of
sluice agent keeps its --history window (10 minutes by default), so record
within it. A range that starts below the oldest revision kept fails and says
where the history now starts.

With --follow DIR it archives the log from --from on as it grows, until
interrupted, into rotating files (events-<first revision>.jsonl, each a
recording), so that an incident can be replayed after etcd has compacted
it: sluice replay DIR.`,
		Example: `  sluice record --out run.jsonl
  sluice record --from 1200 --to 1800 --out incident.jsonl
  sluice record --follow archive/ && sluice replay archive/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return record(cmd, opts, ro) },
	}
	flags := cmd.Flags()
	flags.Int64Var(&ro.from, "from", 1, "first revision")
	flags.Int64Var(&ro.to, "to", 0, "last revision (default: the current one)")
	flags.StringVar(&ro.out, "out", "-", "output file, - for standard output")
	flags.StringVar(&ro.policyDir, "policy", "", "policy directory the agents run, when the store holds none (default: the built-in policy)")
	flags.StringVar(&ro.follow, "follow", "", "archive the log continuously into this directory, until interrupted")
	flags.IntVar(&ro.maxEvents, "rotate-events", state.DefaultArchiveEvents, "with --follow: events per file")
	return cmd
}

func record(cmd *cobra.Command, opts *globalOptions, ro *recordOptions) error {
	return opts.withStoreCluster(cmd.Context(), func(store state.Store, cluster state.ClusterView) error {
		if ro.follow != "" {
			return recordFollow(cmd.Context(), opts, ro, store, cluster.Unscoped)
		}
		return recordRange(cmd.Context(), opts, ro, store, cluster.Unscoped)
	})
}

// recordFollow archives the log until interrupted.
func recordFollow(ctx context.Context, opts *globalOptions, ro *recordOptions, store state.Store, view *state.View) error {
	if ro.to != 0 {
		return fmt.Errorf("--follow archives until interrupted: it takes no --to")
	}
	header, err := recordingPolicy(view, ro.policyDir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(opts.stderr, "archiving the log from revision %d into %s\n", ro.from, ro.follow)
	return state.ArchiveLog(ctx, store, ro.from, state.ArchiveConfig{
		Dir: ro.follow, Header: header, MaxEvents: ro.maxEvents,
		Rotated: func(path string, first, last int64, events int) {
			fmt.Fprintf(opts.stderr, "archived %s: %d events, revisions %d to %d\n", path, events, first, last)
		},
	})
}

func recordRange(ctx context.Context, opts *globalOptions, ro *recordOptions, store state.Store, view *state.View) error {
	to := ro.to
	if to == 0 || to > view.Revision {
		to = view.Revision
	}
	events, err := state.ReadLog(ctx, store, state.Root, ro.from, to)
	if err != nil {
		return err
	}
	header, err := recordingPolicy(view, ro.policyDir)
	if err != nil {
		return err
	}
	rec := state.Recording{Header: header, Segments: []state.Segment{{Name: "store", Events: events}}}
	if err := writeTo(ro.out, opts.stdout, func(w io.Writer) error { return state.WriteRecording(w, rec) }); err != nil {
		return err
	}
	fmt.Fprintf(opts.stderr, "recorded %d events, revisions %d to %d\n", len(events), ro.from, to)
	return nil
}

func recordingPolicy(view *state.View, dir string) (state.RecordingHeader, error) {
	bundle, err := activeBundle(view, dir)
	if err != nil {
		return state.RecordingHeader{}, err
	}
	files := map[string]string{}
	for name, content := range bundle.Files {
		files[name] = string(content)
	}
	return state.RecordingHeader{Mode: "store", Policy: files, PolicyDigest: bundle.Digest}, nil
}

// activeBundle is the bundle the agents evaluate: the store's policy files
// when there are any, else the directory, else the built-in bundle.
func activeBundle(view *state.View, dir string) (*policies.Bundle, error) {
	switch {
	case len(view.Policies) > 0:
		return policies.LoadFiles(view.Policies)
	case dir == "":
		return policies.Default()
	}
	return policies.LoadDir(dir)
}

func writeTo(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	return fsutil.WriteFile(path, write)
}
