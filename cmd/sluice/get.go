package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

func newGetCommand(opts *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:       "get nodes|apps|decisions",
		Short:     "List nodes, apps or the latest decisions",
		ValidArgs: []string{"nodes", "apps", "decisions"},
		Args:      cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list, ok := listers[strings.TrimSuffix(args[0], "s")+"s"]
			if !ok {
				return fmt.Errorf("get %s: unknown resource (want nodes, apps or decisions)", args[0])
			}
			return opts.withView(cmd.Context(), func(view state.View) error {
				return list(opts, output, view)
			})
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

var listers = map[string]func(*globalOptions, string, state.View) error{
	"nodes":     listNodes,
	"apps":      listApps,
	"decisions": listDecisions,
}

func listNodes(opts *globalOptions, output string, view state.View) error {
	nodes := make([]state.NodeInfo, 0, len(view.Nodes))
	for _, name := range state.SortedKeys(view.Nodes) {
		nodes = append(nodes, view.Nodes[name])
	}
	return render(opts.stdout, output, nodes, func(t *table) {
		t.row("NAME", "RUNTIME", "CPUS", "VERSION")
		for _, n := range nodes {
			t.row(n.Name, n.Runtime, n.Capacity.CPUs, n.AgentVersion)
		}
	})
}

// appRow is one app as `get apps` shows it: intent and lifecycle together.
type appRow struct {
	Name       string           `json:"name"`
	Node       string           `json:"node,omitempty"`
	Phase      state.Phase      `json:"phase"`
	Containers string           `json:"containers"`
	Error      string           `json:"error,omitempty"`
	Spec       *state.AppSpec   `json:"spec,omitempty"`
	Status     *state.AppStatus `json:"status,omitempty"`
}

func appRows(view state.View) []appRow {
	// An app is listed while it has a spec, a rejected spec or a status: a
	// deleted app stays visible as terminating, then terminated.
	names := map[string]bool{}
	for name := range view.Apps {
		names[name] = true
	}
	for name := range view.Statuses {
		names[name] = true
	}
	for key := range view.Errors {
		if kind, name := state.ParseKey(key); kind == state.KindApp {
			names[name] = true
		}
	}
	rows := make([]appRow, 0, len(names))
	for _, name := range state.SortedKeys(names) {
		rows = append(rows, appRowOf(view, name))
	}
	return rows
}

func appRowOf(view state.View, name string) appRow {
	row := appRow{Name: name, Phase: state.Pending, Error: view.Errors[state.Keys.App(name)]}
	if spec, ok := view.Apps[name]; ok {
		row.Spec = &spec
		row.Node = spec.Node
		row.Containers = containerNames(spec)
	}
	if status, ok := view.Statuses[name]; ok {
		row.Status = &status
		row.Phase = status.Phase
		row.Node = status.Node
		if row.Error == "" {
			row.Error = status.Error
		}
	}
	if row.Error != "" && row.Spec == nil {
		row.Phase = state.Failed
	}
	return row
}

func listApps(opts *globalOptions, output string, view state.View) error {
	rows := appRows(view)
	return render(opts.stdout, output, rows, func(t *table) {
		t.row("NAME", "NODE", "PHASE", "CONTAINERS", "ERROR")
		for _, r := range rows {
			t.row(r.Name, dash(r.Node), r.Phase, dash(r.Containers), dash(r.Error))
		}
	})
}

func listDecisions(opts *globalOptions, output string, view state.View) error {
	decisions := make([]state.Decision, 0, len(view.Decisions))
	for _, node := range state.SortedKeys(view.Decisions) {
		decisions = append(decisions, view.Decisions[node])
	}
	return render(opts.stdout, output, decisions, func(t *table) {
		t.row("NODE", "REVISION", "TIME", "CONTAINER", "CPU QUOTA", "RULES")
		for _, d := range decisions {
			for _, id := range state.SortedKeys(d.Containers) {
				t.row(d.Node, d.Revision, d.Time.Format("15:04:05.000"), id,
					quota(d.Containers[id].CPUQuotaCores), rulesFor(d.Reasons, id))
			}
		}
	})
}

func quota(cores *float64) string {
	if cores == nil {
		return "unlimited"
	}
	return fmt.Sprintf("%.3f", *cores)
}

func rulesFor(reasons []state.Reason, container string) string {
	seen := map[string]bool{}
	for _, r := range reasons {
		if r.Container == container || r.Container == "" {
			seen[r.Rule] = true
		}
	}
	return dash(strings.Join(state.SortedKeys(seen), ","))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
