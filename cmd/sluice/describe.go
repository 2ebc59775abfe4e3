package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

// appDescription is everything `describe app` knows about one app.
type appDescription struct {
	appRow
	Transitions []state.Transition                 `json:"transitions"`
	Decisions   map[string]state.ContainerDecision `json:"decisions,omitempty"`
	Reasons     []state.Reason                     `json:"reasons,omitempty"`
	// PolicyError is the policy's failure on the app's node, while it fails.
	PolicyError *state.PolicyError `json:"policy_error,omitempty"`
}

func newDescribeCommand(opts *globalOptions) *cobra.Command {
	var output, node string
	cmd := &cobra.Command{
		Use:   "describe app NAME",
		Short: "Show an app's spec, lifecycle history and the decisions about it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "app" {
				return fmt.Errorf("describe %s: only apps can be described", args[0])
			}
			desc, err := describeApp(cmd.Context(), opts, args[1], node)
			if err != nil {
				return err
			}
			return render(opts.stdout, output, desc, func(t *table) { fillDescription(t, desc) })
		},
	}
	addOutputFlag(cmd, &output)
	addNodeFlag(cmd, &node)
	return cmd
}

func describeApp(ctx context.Context, opts *globalOptions, name, node string) (appDescription, error) {
	var desc appDescription
	err := opts.withAppView(ctx, name, node, func(store state.Store, view *state.View) error {
		row := appRowOf(view, name)
		if row.Spec == nil && row.Status == nil && row.Error == "" {
			return fmt.Errorf("app %s: not found", name)
		}
		transitions, err := state.AppTransitions(ctx, store, view.Node, name, view.Revision)
		if err != nil {
			return err
		}
		desc = appDescription{appRow: row, Transitions: transitions}
		desc.Decisions, desc.Reasons = decisionsFor(view, name)
		if failure, failed := view.PolicyErrors[view.Node]; failed {
			desc.PolicyError = &failure
		}
		return nil
	})
	return desc, err
}

func decisionsFor(view *state.View, app string) (map[string]state.ContainerDecision, []state.Reason) {
	containers := map[string]state.ContainerDecision{}
	var reasons []state.Reason
	for _, node := range state.SortedKeys(view.Decisions) {
		d := view.Decisions[node]
		for _, id := range state.SortedKeys(d.Containers) {
			if state.AppOf(id) == app {
				containers[id] = d.Containers[id]
			}
		}
		for _, r := range d.Reasons {
			if state.AppOf(r.Container) == app {
				reasons = append(reasons, r)
			}
		}
	}
	return containers, reasons
}

func fillDescription(t *table, d appDescription) {
	t.row("Name:", d.Name)
	t.row("Node:", dash(d.Node))
	t.row("Phase:", d.Phase)
	t.row("Error:", dash(d.Error))
	if r := d.Rejected; r != nil {
		t.row("Spec:", fmt.Sprintf("revision %d rejected (%s), the last good spec stays in force: %s", r.Revision, r.Key, r.Error))
	}
	if p := d.PolicyError; p != nil {
		t.row("Policy:", fmt.Sprintf("%s failed at revision %d (bundle %s), the last good decision stays in force: %s", p.Stage, p.Revision, p.BundleDigest, p.Error))
	} else {
		t.row("Policy:", "ok")
	}
	if d.Status != nil {
		t.row("Restarts:", d.Status.Restarts)
		for _, c := range d.Status.Containers {
			t.row("Container:", c.Name, "running="+fmt.Sprint(c.Running), "guid="+dash(c.GUID), "id="+dash(state.ShortRuntimeID(c.RuntimeID)))
		}
	}
	for _, id := range state.SortedKeys(d.Decisions) {
		t.row("Decision:", id, "cpu quota "+quota(d.Decisions[id].CPUQuotaCores))
	}
	for _, r := range d.Reasons {
		t.row("Reason:", r.Rule, r.Container, r.Message)
	}
	t.row("Transitions:")
	for _, tr := range d.Transitions {
		t.row("", tr.Time.Format("15:04:05.000"), string(tr.From)+" -> "+string(tr.To), tr.Event, tr.Reason)
	}
}
