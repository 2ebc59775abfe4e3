package clusterbench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Plot geometry: two panels side by side, N on a log axis in each.
const (
	plotWidth   = 820.0
	plotHeight  = 300.0
	panelWidth  = 320.0
	panelHeight = 200.0
	panelTop    = 50.0
)

// panel is one chart: a value of each result against its node count.
type panel struct {
	title, unit string
	left        float64
	value       func(Result) float64
	// target draws a dashed line at this value when positive.
	target float64
}

// WritePlot draws per-node read bytes and decision p99 against the number
// of nodes, one point per result, as SVG.
func WritePlot(w io.Writer, results []Result) error {
	if len(results) == 0 {
		return fmt.Errorf("plot: no results")
	}
	results = slices.Clone(results)
	slices.SortFunc(results, func(a, b Result) int { return a.Nodes - b.Nodes })
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", plotWidth, plotHeight)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	panels := []panel{
		{title: "etcd reads per node", unit: "bytes/s", left: 70, value: func(r Result) float64 { return r.PerNodeEtcdReadBytesPerSecond }},
		{title: "decision latency p99", unit: "ms", left: 480, value: func(r Result) float64 { return r.DecisionLatencyMs.P99 }, target: 500},
	}
	for _, p := range panels {
		p.draw(&b, results)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func (p panel) draw(b *bytes.Buffer, results []Result) {
	minN, maxN := float64(results[0].Nodes), float64(results[len(results)-1].Nodes)
	if minN == maxN {
		minN, maxN = minN/2, maxN*2
	}
	top := p.target
	for _, r := range results {
		top = max(top, p.value(r))
	}
	top = niceCeiling(top * 1.1)
	x := func(n float64) float64 {
		return p.left + (math.Log10(n)-math.Log10(minN))/(math.Log10(maxN)-math.Log10(minN))*panelWidth
	}
	y := func(v float64) float64 { return panelTop + panelHeight - v/top*panelHeight }
	text(b, p.left+panelWidth/2, 25, "middle", `font-weight="bold"`, p.title+" ("+p.unit+")")
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", p.left, panelTop, panelWidth, panelHeight)
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		text(b, p.left-6, y(v)+4, "end", "", compact(v))
	}
	for _, r := range results {
		text(b, x(float64(r.Nodes)), panelTop+panelHeight+16, "middle", "", fmt.Sprint(r.Nodes))
	}
	text(b, p.left+panelWidth/2, panelTop+panelHeight+36, "middle", "", "nodes (log scale)")
	if p.target > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c33" stroke-dasharray="4 3"/>`+"\n", p.left, p.left+panelWidth, y(p.target), y(p.target))
		text(b, p.left+panelWidth-4, y(p.target)-4, "end", `fill="#c33"`, "target "+compact(p.target))
	}
	points := make([]string, len(results))
	for i, r := range results {
		points[i] = fmt.Sprintf("%.1f,%.1f", x(float64(r.Nodes)), y(p.value(r)))
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#236"/>`+"\n", x(float64(r.Nodes)), y(p.value(r)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#236" stroke-width="1.5"/>`+"\n", strings.Join(points, " "))
}

func text(b *bytes.Buffer, x, y float64, anchor, attrs, content string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>`, x, y, anchor, attrs)
	_ = xml.EscapeText(b, []byte(content)) // a bytes.Buffer does not fail
	b.WriteString("</text>\n")
}

// niceCeiling rounds v up to 1, 2 or 5 times a power of ten.
func niceCeiling(v float64) float64 {
	if v <= 0 {
		return 1
	}
	power := math.Pow(10, math.Floor(math.Log10(v)))
	for _, step := range []float64{1, 2, 5, 10} {
		if v <= step*power {
			return step * power
		}
	}
	return 10 * power
}

func compact(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%gk", v/1000)
	default:
		return fmt.Sprintf("%g", v)
	}
}
