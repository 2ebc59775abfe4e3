package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

func newNodeCommand(opts *globalOptions) *cobra.Command {
	cmd := groupCommand("node", "Act on a node's relation to this store")
	cmd.AddCommand(newNodeResetCommand(opts))
	return cmd
}

// nodeReset is what `sluice node reset` did or would do.
type nodeReset struct {
	Node  string `json:"node"`
	Store string `json:"store"`
	Key   string `json:"key"`
	// Apps are the apps that run on the node: their containers are adopted
	// where they match by name and spec hash, the rest removed.
	Apps []string `json:"apps"`
	// Previous is the claim this one replaces, if the node had one.
	Previous *state.NodeClaim `json:"previous,omitempty"`
	Written  bool             `json:"written"`
	Revision int64            `json:"revision,omitempty"`
}

var errNotConfirmed = errors.New("nothing written: add --yes to claim the node")

func newNodeResetCommand(opts *globalOptions) *cobra.Command {
	var output, reason string
	var yes bool
	cmd := &cobra.Command{
		Use:   "reset NODE",
		Short: "Claim every container on NODE for this store: adopt what its specs match, remove the rest",
		Long: `An agent leaves alone the containers another store created, and does nothing
at all on a node its store knows nothing of: no status of it and no spec
pinned to it (a fresh data directory, keys deleted by hand). reset writes
the node's claim, under the node's own keys: from then on
its agent takes every container on the node as this store's, adopts the ones
that match a spec for the node by name and spec hash, and stops and removes
the others. Without --yes it only says what it would do.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			result, err := resetNode(cmd.Context(), opts, args[0], reason, yes)
			if err != nil {
				return err
			}
			if err := render(opts.stdout, output, result, func(t *table) { describeReset(t, result) }); err != nil {
				return err
			}
			if !result.Written {
				return errNotConfirmed
			}
			return nil
		},
	}
	addOutputFlag(cmd, &output)
	cmd.Flags().BoolVar(&yes, "yes", false, "write the claim (without it, only show what it would do)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the node is claimed, kept in the claim")
	return cmd
}

func resetNode(ctx context.Context, opts *globalOptions, node, reason string, confirmed bool) (nodeReset, error) {
	store, err := opts.openStore(ctx)
	if err != nil {
		return nodeReset{}, err
	}
	defer store.Close()
	view, err := state.LoadView(ctx, store, node)
	if err != nil {
		return nodeReset{}, err
	}
	result := nodeReset{Node: node, Key: state.Keys.Claim(node), Previous: view.Claim, Apps: []string{}}
	if result.Store, err = view.ClusterID(); err != nil {
		return nodeReset{}, err
	}
	for _, spec := range view.AppsOn() {
		result.Apps = append(result.Apps, spec.Name)
	}
	if !confirmed {
		return result, nil
	}
	claim := state.NodeClaim{Node: node, Time: time.Now().UTC(), Reason: reason}
	if result.Revision, err = state.PutClaim(ctx, store, claim); err != nil {
		return nodeReset{}, err
	}
	result.Written = true
	return result, nil
}

func describeReset(t *table, r nodeReset) {
	verb := "would write"
	if r.Written {
		verb = fmt.Sprintf("wrote (revision %d)", r.Revision)
	}
	apps := "none"
	if len(r.Apps) > 0 {
		apps = strings.Join(r.Apps, ",")
	}
	t.row("NODE", "STORE", "CLAIM", "APPS KEPT")
	t.row(r.Node, r.Store, verb+" "+r.Key, apps)
	t.row("")
	t.row("The agent of " + r.Node + " takes every container on it as this store's: it adopts those")
	t.row("that match a spec of the apps kept by name and spec hash, and stops and removes all others.")
	if r.Previous != nil {
		t.row("The node was already claimed at " + r.Previous.Time.Format(time.RFC3339) + ".")
	}
}
