package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// recentTraceLimit is how many traces the page shows.
const recentTraceLimit = 20

// tracesPage is an app's recent traces and the calls between its
// containers that they show.
type tracesPage struct {
	App string
	// Unavailable says why there are no traces to show.
	Unavailable string
	Latency     *state.LatencyStats
	Graph       template.HTML
	Edges       []edge
	Traces      []traceView
}

type traceView struct {
	traces.TraceSummary
	Tree template.HTML
}

// edge is the calls from one container to another: a span whose parent
// span is the caller's.
type edge struct {
	From, To string
	Calls    int
	// MeanMs is the mean duration of the callee's spans.
	MeanMs  float64
	totalMs float64
}

func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	app := r.PathValue("app")
	page := tracesPage{App: app}
	if a, ok := s.view().Observations[s.cfg.Node].Apps[app]; ok {
		page.Latency = a.Latency
	}
	if s.cfg.Traces == nil {
		page.Unavailable = "this node receives no spans (a simulated node, or the agent runs with --traces=false)"
	} else {
		recent := s.cfg.Traces.Recent(app, recentTraceLimit)
		page.Edges = callEdges(recent)
		page.Graph = callGraph(page.Edges)
		for _, t := range recent {
			page.Traces = append(page.Traces, traceView{TraceSummary: t, Tree: spanTree(t)})
		}
	}
	s.pages.render(w, r, "traces", layout{Title: "traces of " + app, Agent: true, Live: true, Page: page})
}

// callEdges counts the calls between containers over the traces' spans.
func callEdges(recent []traces.TraceSummary) []edge {
	byPair := map[[2]string]*edge{}
	var order [][2]string
	for _, t := range recent {
		container := make(map[string]string, len(t.Tree))
		for _, span := range t.Tree {
			container[span.ID] = span.Container
		}
		for _, span := range t.Tree {
			caller, ok := container[span.Parent]
			if !ok || caller == span.Container {
				continue
			}
			pair := [2]string{caller, span.Container}
			e := byPair[pair]
			if e == nil {
				e = &edge{From: caller, To: span.Container}
				byPair[pair] = e
				order = append(order, pair)
			}
			e.Calls++
			e.totalMs += span.DurationMs
		}
	}
	out := make([]edge, 0, len(order))
	for _, pair := range order {
		e := byPair[pair]
		e.MeanMs = e.totalMs / float64(e.Calls)
		out = append(out, *e)
	}
	return out
}

// Graph layout: callers left of callees, one column per call depth.
const (
	graphColumnPx = 250
	graphRowPx    = 56
	graphNodeW    = 150
	graphNodeH    = 28
)

// callGraph draws the containers as boxes, a column per depth from the
// callers nobody calls, and an arrow per edge labelled with its calls and
// mean latency.
func callGraph(edges []edge) template.HTML {
	if len(edges) == 0 {
		return ""
	}
	depth := depths(edges)
	rows := map[int]int{}
	pos := map[string][2]int{}
	for _, name := range state.SortedKeys(depth) {
		d := depth[name]
		pos[name] = [2]int{20 + d*graphColumnPx, 20 + rows[d]*graphRowPx}
		rows[d]++
	}
	width, height := 0, 0
	for _, p := range pos {
		width, height = max(width, p[0]+graphNodeW+20), max(height, p[1]+graphNodeH+20)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" viewBox="0 0 %d %d" width="%d" height="%d">`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>`)
	for _, e := range edges {
		from, to := pos[e.From], pos[e.To]
		x1, y1 := from[0]+graphNodeW, from[1]+graphNodeH/2
		x2, y2 := to[0], to[1]+graphNodeH/2
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
		fmt.Fprintf(&b, `<text class="edge" x="%d" y="%d">%d× %.1f ms</text>`, (x1+x2)/2-20, (y1+y2)/2-4, e.Calls, e.MeanMs)
	}
	for _, name := range state.SortedKeys(pos) {
		p := pos[name]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4"/><text x="%d" y="%d">%s</text>`,
			p[0], p[1], graphNodeW, graphNodeH, p[0]+8, p[1]+18, template.HTMLEscapeString(name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// depths is each container's call depth: 0 for those no edge calls, else
// one more than its deepest known caller (cycles stop at the edge count).
func depths(edges []edge) map[string]int {
	depth := map[string]int{}
	for _, e := range edges {
		depth[e.From] += 0
		depth[e.To] += 0
	}
	for range edges {
		for _, e := range edges {
			depth[e.To] = max(depth[e.To], depth[e.From]+1)
		}
	}
	return depth
}

// Span tree sizes.
const (
	treeWidth  = 720
	treeLabelW = 300
	treeRowPx  = 16
)

// spanTree draws the trace's spans, each under its parent, as bars on the
// trace's time line.
func spanTree(t traces.TraceSummary) template.HTML {
	if len(t.Tree) == 0 {
		return ""
	}
	ordered := treeOrder(t.Tree)
	total := max(t.DurationMs, 0.001)
	for _, row := range ordered {
		total = max(total, row.span.StartMs+row.span.DurationMs)
	}
	var b strings.Builder
	height := len(ordered)*treeRowPx + 4
	fmt.Fprintf(&b, `<svg class="tree" viewBox="0 0 %d %d" width="%d" height="%d">`, treeWidth, height, treeWidth, height)
	barW := float64(treeWidth - treeLabelW - 10)
	for i, row := range ordered {
		y := i*treeRowPx + 2
		class := "span"
		if row.span.Error {
			class += " error"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s · %s</text>`, 4+row.depth*12, y+12,
			template.HTMLEscapeString(row.span.Container), template.HTMLEscapeString(row.span.Name))
		x := float64(treeLabelW) + barW*row.span.StartMs/total
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d"><title>%.2f ms</title></rect>`,
			class, x, y+2, max(barW*row.span.DurationMs/total, 1), treeRowPx-4, row.span.DurationMs)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type treeRow struct {
	span  traces.SpanSummary
	depth int
}

// treeOrder lists spans depth first, each after its parent; spans whose
// parent was not kept start trees of their own.
func treeOrder(spans []traces.SpanSummary) []treeRow {
	known := map[string]bool{}
	for _, s := range spans {
		known[s.ID] = true
	}
	children := map[string][]traces.SpanSummary{}
	var roots []traces.SpanSummary
	for _, s := range spans {
		if known[s.Parent] && s.Parent != s.ID {
			children[s.Parent] = append(children[s.Parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	var out []treeRow
	var walk func(s traces.SpanSummary, depth int)
	walk = func(s traces.SpanSummary, depth int) {
		if len(out) >= len(spans) {
			return // a cycle of parents: each span once
		}
		out = append(out, treeRow{span: s, depth: depth})
		for _, child := range children[s.ID] {
			walk(child, depth+1)
		}
	}
	for _, root := range roots {
		walk(root, 0)
	}
	return out
}
