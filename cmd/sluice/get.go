package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

func newGetCommand(opts *globalOptions) *cobra.Command {
	var output string
	var watch bool
	cmd := &cobra.Command{
		Use:   "get nodes|apps|decisions [NAME...]",
		Short: "List nodes, apps or the latest decisions",
		Long: `List nodes, apps or the latest decisions. Apps may be named, and
watched: with -w, get apps prints the apps as they are, then each app again
whenever its spec or status changes, until interrupted.`,
		Example: `  sluice get apps web -o yaml
  sluice get apps -w`,
		ValidArgs: []string{"nodes", "apps", "decisions"},
		Args:      cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resource := strings.TrimSuffix(args[0], "s") + "s"
			list, ok := listers[resource]
			switch {
			case !ok:
				return fmt.Errorf("get %s: unknown resource (want nodes, apps or decisions)", args[0])
			case resource != "apps" && (len(args) > 1 || watch):
				return fmt.Errorf("get %s: names and -w are for apps only", args[0])
			case watch:
				return watchApps(cmd.Context(), opts, output, args[1:])
			}
			return opts.withCluster(cmd.Context(), func(cluster state.ClusterView) error {
				return list(opts, output, cluster, args[1:])
			})
		},
	}
	addOutputFlag(cmd, &output)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after listing, print each app again when it changes (apps only)")
	return cmd
}

// A lister prints one resource; names, when given, pick apps.
var listers = map[string]func(opts *globalOptions, output string, cluster state.ClusterView, names []string) error{
	"nodes":     listNodes,
	"apps":      listApps,
	"decisions": listDecisions,
}

func listNodes(opts *globalOptions, output string, cluster state.ClusterView, _ []string) error {
	registered := cluster.Unscoped.Nodes
	nodes := make([]state.NodeInfo, 0, len(registered))
	for _, name := range state.SortedKeys(registered) {
		nodes = append(nodes, registered[name])
	}
	rows := make([]nodeRow, len(nodes))
	for i, n := range nodes {
		rows[i] = nodeRow{NodeInfo: n}
		if view, ok := cluster.Views[n.Name]; ok {
			if failure, failed := view.PolicyErrors[n.Name]; failed {
				rows[i].PolicyError = &failure
			}
		}
	}
	return render(opts.stdout, output, rows, func(t *table) {
		t.row("NAME", "RUNTIME", "CPUS", "VERSION", "POLICY")
		for _, n := range rows {
			t.row(n.Name, n.Runtime, n.Capacity.CPUs, n.AgentVersion, policyState(n.PolicyError))
		}
	})
}

// nodeRow is one node as `get nodes` shows it: its registration and the
// policy's failure on it, if the policy is failing there.
type nodeRow struct {
	state.NodeInfo
	PolicyError *state.PolicyError `json:"policy_error,omitempty"`
}

// policyState sums a node's policy failure up in one short line: "ok", or
// the stage and the first line of the error.
func policyState(failure *state.PolicyError) string {
	if failure == nil {
		return "ok"
	}
	const width = 60
	message, _, _ := strings.Cut(failure.Error, "\n")
	if runes := []rune(message); len(runes) > width {
		message = string(runes[:width]) + "…"
	}
	return failure.Stage + " failed: " + message
}

// appRow is one app as `get apps` shows it: intent and lifecycle together.
type appRow struct {
	Name       string      `json:"name"`
	Node       string      `json:"node,omitempty"`
	Phase      state.Phase `json:"phase"`
	Containers string      `json:"containers"`
	Error      string      `json:"error,omitempty"`
	// Rejected is the rejection of the app's latest spec value; the spec
	// shown is the last good one, still in force.
	Rejected *state.SpecRejection `json:"rejected,omitempty"`
	Spec     *state.AppSpec       `json:"spec,omitempty"`
	Status   *state.AppStatus     `json:"status,omitempty"`
}

// appRows lists every app of every node, and the unpinned apps that no
// node has taken up yet.
func appRows(cluster state.ClusterView) []appRow {
	rows := []appRow{}
	taken := map[string]bool{}
	for _, node := range cluster.Nodes() {
		view := cluster.Views[node]
		for _, name := range appNames(view) {
			rows = append(rows, appRowOf(view, name))
			taken[name] = true
		}
	}
	unscoped := cluster.Unscoped
	for _, name := range appNames(unscoped) {
		if !taken[name] {
			rows = append(rows, appRowOf(unscoped, name))
		}
	}
	return rows
}

// appNames lists the apps of a node's view: the apps pinned to it, and
// those it holds a status or a rejected spec of (a deleted app stays
// visible as terminating, then terminated). On the cluster keys' own view
// (no node), the unpinned apps.
func appNames(view *state.View) []string {
	names := map[string]bool{}
	for name, spec := range view.Apps {
		if spec.Node == view.Node {
			names[name] = true
		}
	}
	for name := range view.Statuses {
		names[name] = true
	}
	for key := range view.Errors {
		if ref := state.ParseKey(key); ref.Kind == state.KindApp && ref.Node == view.Node {
			names[ref.Name] = true
		}
	}
	return state.SortedKeys(names)
}

func appRowOf(view *state.View, name string) appRow {
	row := appRow{Name: name, Node: view.Node, Phase: state.Pending, Error: appError(view, name)}
	if spec, ok := view.Apps[name]; ok {
		row.Spec = &spec
		row.Containers = containerNames(spec)
	}
	if status, ok := view.Statuses[name]; ok {
		row.Status = &status
		row.Phase = status.Phase
		if row.Error == "" {
			row.Error = status.Error
		}
		row.Rejected = status.Rejected
	}
	if rejected, ok := view.Rejections[name]; ok {
		row.Rejected = &rejected
	}
	if row.Error != "" && row.Spec == nil {
		row.Phase = state.Failed
	}
	return row
}

// appError is the fold's error for the app's spec: pinned to the node, or
// unpinned.
func appError(view *state.View, name string) string {
	if err, ok := view.Errors[state.Keys.App(view.Node, name)]; ok && view.Node != "" {
		return err
	}
	return view.Errors[state.Keys.App("", name)]
}

func listApps(opts *globalOptions, output string, cluster state.ClusterView, names []string) error {
	rows, err := namedRows(appRows(cluster), names)
	if err != nil {
		return err
	}
	if len(names) == 1 && len(rows) == 1 && output != "table" && output != "" {
		return render(opts.stdout, output, rows[0], nil) // one app, as kubectl gets one object
	}
	return render(opts.stdout, output, rows, func(t *table) { fillAppRows(t, rows, true) })
}

func fillAppRows(t *table, rows []appRow, header bool) {
	if header {
		t.row("NAME", "NODE", "PHASE", "SPEC", "CONTAINERS", "ERROR")
	}
	for _, r := range rows {
		t.row(r.Name, dash(r.Node), r.Phase, specState(r.Rejected), dash(r.Containers), dash(r.Error))
	}
}

// specState says whether the app's latest spec was taken: "ok", or
// "rejected@R" for the revision that was not (the last good spec runs).
func specState(rejected *state.SpecRejection) string {
	if rejected == nil {
		return "ok"
	}
	return fmt.Sprintf("rejected@%d", rejected.Revision)
}

// namedRows keeps the rows of the apps named, in the order named; no names
// keeps every row. An app named but not found is an error.
func namedRows(rows []appRow, names []string) ([]appRow, error) {
	if len(names) == 0 {
		return rows, nil
	}
	var out []appRow
	for _, name := range names {
		found := false
		for _, r := range rows {
			if r.Name == name {
				out, found = append(out, r), true
			}
		}
		if !found {
			return nil, fmt.Errorf("app %s: not found (sluice get apps lists them)", name)
		}
	}
	return out, nil
}

func listDecisions(opts *globalOptions, output string, cluster state.ClusterView, _ []string) error {
	decisions := []state.Decision{}
	for _, node := range cluster.Nodes() {
		if d, ok := cluster.Views[node].Decisions[node]; ok {
			decisions = append(decisions, d)
		}
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
