package ui

import (
	"net/http"
	"time"

	"github.com/sluice-io/sluice/state"
)

// clusterPage is every node the agent knows of, with its own in detail.
type clusterPage struct {
	Node     string
	Revision int64
	Columns  []nodeColumn
	Policy   policyStatus
	// Errors are keys whose values were rejected (malformed specs).
	Errors map[string]string
}

// nodeColumn is one node; only the agent's own has blocks, as its view
// holds only its own node's keys.
type nodeColumn struct {
	Name, Runtime string
	CPUs          int
	Own           bool
	// Heartbeat says how fresh the node's registration is.
	Heartbeat string
	// Late is set when the agent's own observations stopped arriving.
	Late   bool
	Blocks []block
	// UsedCores is what its containers used over the last interval.
	UsedCores float64
}

// block is one container, its height proportional to the CPU it used.
type block struct {
	App, Container, Class, Phase string
	UsedCores                    float64
	QuotaCores                   *float64
	Shares                       uint64
	HeightPx                     int
}

// policyStatus is the node's policy: the bundle of the decision in force
// and the last error.
type policyStatus struct {
	BundleDigest     string
	DecisionRevision int64
	DecisionTime     time.Time
	Files            []string
	Error            *state.PolicyError
}

// Block heights: a node's whole CPU is columnPx; an idle container still
// shows as minBlockPx.
const (
	columnPx   = 320
	minBlockPx = 22
)

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	view := s.view()
	page := clusterPage{Node: s.cfg.Node, Revision: view.Revision, Policy: policyOf(view, s.cfg.Node), Errors: view.Errors}
	for _, name := range state.SortedKeys(view.Nodes) {
		info := view.Nodes[name]
		column := nodeColumn{Name: name, Runtime: info.Runtime, CPUs: info.Capacity.CPUs, Own: name == s.cfg.Node,
			Heartbeat: "registered: its lease is alive"}
		if column.Own {
			s.fillOwnColumn(&column, view)
		}
		page.Columns = append(page.Columns, column)
	}
	s.pages.render(w, r, "cluster", layout{Title: "cluster", Agent: true, Live: true, Page: page})
}

// fillOwnColumn adds the agent's node's containers and the age of its
// latest observation, which the agent writes every tick with its
// heartbeat.
func (s *Server) fillOwnColumn(column *nodeColumn, view *state.View) {
	if seen := s.history.lastSeen(); !seen.IsZero() {
		age := time.Since(seen)
		column.Heartbeat = "last observation " + age.Round(100*time.Millisecond).String() + " ago"
		column.Late = age > 3*s.cfg.Interval
	}
	obs := view.Observations[s.cfg.Node]
	cpus := max(obs.Host.CPUs, column.CPUs, 1)
	shown := map[string]bool{}
	for _, c := range obs.Containers {
		shown[c.App] = true
		column.UsedCores += c.CPUUsageCores
		column.Blocks = append(column.Blocks, block{App: c.App, Container: c.Name, Class: string(c.Class),
			Phase: phaseOf(view, c.App), UsedCores: c.CPUUsageCores, QuotaCores: c.CPUQuotaCores,
			Shares: c.CPUShares, HeightPx: max(minBlockPx, int(c.CPUUsageCores/float64(cpus)*columnPx))})
	}
	// Apps with nothing running yet (pending, failed) still show.
	for _, app := range state.SortedKeys(view.Apps) {
		if shown[app] {
			continue
		}
		for _, c := range view.Apps[app].Containers {
			column.Blocks = append(column.Blocks, block{App: app, Container: c.Name, Class: string(c.Class),
				Phase: phaseOf(view, app), HeightPx: minBlockPx})
		}
	}
}

func phaseOf(view *state.View, app string) string {
	if status, ok := view.Statuses[app]; ok {
		return string(status.Phase)
	}
	return "unseen"
}

func policyOf(view *state.View, node string) policyStatus {
	p := policyStatus{Files: state.SortedKeys(view.Policies)}
	if d, ok := view.Decisions[node]; ok {
		p.BundleDigest, p.DecisionRevision, p.DecisionTime = d.BundleDigest, d.Revision, d.Time
	}
	if e, ok := view.PolicyErrors[node]; ok {
		p.Error = &e
	}
	return p
}
