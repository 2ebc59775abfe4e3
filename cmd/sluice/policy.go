package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/state"
)

func newPolicyCommand(opts *globalOptions) *cobra.Command {
	cmd := groupCommand("policy", "Test, push and compare Rego policies")
	cmd.AddCommand(newPolicyTestCommand(opts), newPolicyPushCommand(opts), newPolicyDiffCommand(opts))
	return cmd
}

func newPolicyTestCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Compile a policy directory and run its _test.rego tests",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "policies"
			if len(args) == 1 {
				dir = args[0]
			}
			_, err := checkBundle(cmd.Context(), opts.stdout, output, dir, false)
			return err
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// checkBundle loads and compiles the bundle in dir, runs its tests and
// prints their results to w, every one or (failuresOnly) those that did
// not pass; any failure is an error naming the failing tests.
func checkBundle(ctx context.Context, w io.Writer, output, dir string, failuresOnly bool) (*policies.Bundle, error) {
	bundle, err := policies.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	if _, err := policies.NewEngine(ctx, bundle); err != nil {
		return nil, err
	}
	results, err := policies.RunBundleTests(ctx, bundle)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, r := range results {
		if !r.Pass && !r.Skip {
			failed = append(failed, r.Package+"."+r.Name)
		}
	}
	if err := render(w, output, results, func(t *table) {
		for _, r := range results {
			if !failuresOnly || !r.Pass {
				t.row(r.String())
			}
		}
		t.row(fmt.Sprintf("%d passed, %d failed", len(results)-len(failed), len(failed)))
	}); err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("%d of %d policy tests failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return bundle, nil
}

// policyPush is what `sluice policy push` wrote.
type policyPush struct {
	Digest   string `json:"digest"`
	Revision string `json:"revision"`
	Files    int    `json:"files"`
	// StoreRevision is the revision of the transaction that wrote it.
	StoreRevision int64 `json:"store_revision"`
}

func newPolicyPushCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Test a policy directory and make it the bundle every agent runs",
		Long: `Push compiles the bundle in DIR and runs its _test.rego tests; on any
failure it writes nothing. Otherwise it writes the bundle under
/sluice/policies/ in one transaction, replacing what was there, with a
.manifest that records its revision: the git commit of DIR, with -dirty
when files under DIR differ from it, or "none" outside git. Agents switch
to it on their next tick, and every decision records its digest and
revision. Deleting the keys under /sluice/policies/ brings each agent's
own policy back.`,
		Example: `  sluice policy push policies/
  sluice get decisions -o json   # bundle_revision: the commit pushed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Test results go to stderr: stdout says what was pushed.
			bundle, err := checkBundle(cmd.Context(), opts.stderr, "table", args[0], true)
			if err != nil {
				return fmt.Errorf("%w; nothing pushed", err)
			}
			revision := gitRevision(cmd.Context(), args[0])
			pushed, err := pushBundle(cmd.Context(), opts, bundle, revision)
			if err != nil {
				return err
			}
			return render(opts.stdout, output, pushed, func(t *table) {
				t.row(fmt.Sprintf("policy %s (revision %s, %d files) pushed at store revision %d",
					pushed.Digest, pushed.Revision, pushed.Files, pushed.StoreRevision))
			})
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func pushBundle(ctx context.Context, opts *globalOptions, bundle *policies.Bundle, revision string) (policyPush, error) {
	store, err := opts.openStore(ctx)
	if err != nil {
		return policyPush{}, err
	}
	defer store.Close()
	stored, err := policies.StoredNames(ctx, store)
	if err != nil {
		return policyPush{}, err
	}
	ops, err := policies.PushOps(bundle, revision, stored)
	if err != nil {
		return policyPush{}, err
	}
	rev, err := store.Txn(ctx, ops...)
	if err != nil {
		return policyPush{}, fmt.Errorf("write the bundle under %s: %w", state.PoliciesPrefix, err)
	}
	return policyPush{Digest: bundle.Digest, Revision: revision, Files: len(bundle.Files), StoreRevision: rev}, nil
}

// gitTimeout bounds each git command push runs.
const gitTimeout = 10 * time.Second

// gitRevision is the commit of dir's git checkout, with "-dirty" when
// files under dir differ from it, or "none" when dir is not in git (or git
// is missing): a bundle's revision says where it came from, and a push
// from outside git is allowed.
func gitRevision(ctx context.Context, dir string) string {
	head, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "none"
	}
	// Only the bundle's own directory counts: an edit elsewhere in the
	// repository does not change what is pushed.
	changes, err := git(ctx, dir, "status", "--porcelain", "--", ".")
	if err != nil || changes != "" {
		return head + "-dirty"
	}
	return head
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
	return strings.TrimSpace(string(out)), err
}

func newPolicyDiffCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "diff DIR RECORDING",
		Short: "Summarise what the bundle in DIR would have changed in a recorded run",
		Long: `Diff replays a recording (sluice record, or an experiment's events.jsonl)
with the bundle in DIR, open loop as sluice replay does, and summarises the
decisions it would have made otherwise: how many differ, which containers
they move and by how much, and the largest changes. The recording's own
inputs are kept, so a change shows what the new policy would decide, not
what would have happened next (sluice sim closes the loop).`,
		Example: `  sluice policy diff my-policies/ out/shield-sine/events.jsonl -o json`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			diff, err := policyDiff(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			return render(opts.stdout, output, diff, func(t *table) { fillPolicyDiff(t, diff) })
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func policyDiff(ctx context.Context, dir, recording string) (policies.PolicyDiff, error) {
	bundle, err := policies.LoadDir(dir)
	if err != nil {
		return policies.PolicyDiff{}, err
	}
	engine, err := policies.NewEngine(ctx, bundle)
	if err != nil {
		return policies.PolicyDiff{}, err
	}
	rec, err := readRecording(recording)
	if err != nil {
		return policies.PolicyDiff{}, err
	}
	result, err := policies.Replay(ctx, engine, rec)
	if err != nil {
		return policies.PolicyDiff{}, fmt.Errorf("replay %s: %w", recording, err)
	}
	if result.Decisions == 0 {
		return policies.PolicyDiff{}, errors.New(recording + ": no decisions to compare")
	}
	return policies.Summarise(result)
}

func fillPolicyDiff(t *table, d policies.PolicyDiff) {
	t.row(fmt.Sprintf("%d of %d decisions would set containers differently; the bundle failed on %d",
		d.Differing, d.Decisions, d.Errors))
	if len(d.Containers) == 0 {
		return
	}
	t.row("CONTAINER", "DECISIONS", "LARGEST CHANGE", "AT REVISION")
	for _, c := range d.Containers {
		t.row(c.Container, c.Decisions, c.Largest.Recorded+" -> "+c.Largest.Replayed, c.Largest.ViewRevision)
	}
	t.row("")
	t.row("LARGEST CHANGES")
	for _, c := range d.Largest {
		t.row(c.Container, c.Recorded+" -> "+c.Replayed, c.ViewRevision)
	}
}
