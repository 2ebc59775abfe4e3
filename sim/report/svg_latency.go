package report

import (
	"fmt"
	"math"
	"strconv"

	"github.com/sluice-io/sluice/sim/scenario"
)

// The latency panel sits below the CPU plot and shares its time axis.
const (
	latencyPanelTop    = svgHeight + 34
	latencyPanelHeight = 200
	// latencyPanelExtra is what the panel adds to the plot's height: the
	// panel, its time labels and a margin.
	latencyPanelExtra = latencyPanelTop - svgHeight + latencyPanelHeight + 40
)

// Latencies span decades (a millisecond alone, seconds behind a hog), so
// the panel's scale is logarithmic, from a whole decade to a whole decade,
// and nothing below lowestLatencyMs is told apart.
const lowestLatencyMs = 1e-3

var latencyP99Series = series{id: "victim-latency-p99", label: "victim p99 latency", color: "#2f86e0", width: 2,
	value: func(r Row) *float64 { return r.VictimLatencyP99Ms }}

const sloColor = "#b71c1c"

// latencyPanel draws the victim's per-tick p99 latency and its SLO.
type latencyPanel struct {
	plot            plotArea // for the time axis
	top, height     float64
	lowExp, highExp int // the scale runs from 10^lowExp to 10^highExp ms
	slo             *float64
	sloLabel        string
}

// newLatencyPanel lays out the panel; false when there is nothing to show:
// no tick measured a latency and the victim has no SLO.
func newLatencyPanel(plot plotArea, s scenario.Scenario, rows []Row) (latencyPanel, bool) {
	panel := latencyPanel{plot: plot, top: latencyPanelTop, height: latencyPanelHeight}
	lowest, highest := math.Inf(1), math.Inf(-1)
	include := func(ms float64) {
		if ms > 0 && !math.IsInf(ms, 0) {
			lowest, highest = min(lowest, ms), max(highest, ms)
		}
	}
	if slo := s.VictimSLO(); slo != nil {
		panel.slo = some(slo.LatencyP99Ms)
		panel.sloLabel = "SLO: p99 ≤ " + strconv.FormatFloat(slo.LatencyP99Ms, 'f', -1, 64) + " ms"
		include(slo.LatencyP99Ms)
	}
	measured := false
	for _, r := range rows {
		if v := r.VictimLatencyP99Ms; v != nil {
			measured = true
			include(*v)
		}
	}
	if !measured && panel.slo == nil {
		return panel, false
	}
	if math.IsInf(lowest, 0) {
		lowest, highest = 1, 1
	}
	lowest = max(lowest, lowestLatencyMs)
	// A latency on a whole decade (the 1 ms of an idle victim) gets the
	// decade below it, so the line does not run along the frame.
	panel.lowExp = int(math.Ceil(math.Log10(lowest))) - 1
	panel.highExp = int(math.Floor(math.Log10(max(highest, lowest)))) + 1
	return panel, true
}

func (l latencyPanel) y(ms float64) float64 {
	position := (math.Log10(max(ms, lowestLatencyMs)) - float64(l.lowExp)) / float64(l.highExp-l.lowExp)
	return l.top + l.height - min(max(position, 0), 1)*l.height
}

func (l latencyPanel) draw(b *svgBuilder, s scenario.Scenario, byPhase map[string][]Row) {
	b.printf(`<g id="latency-panel">` + "\n")
	l.drawPhases(b, s)
	l.drawYAxis(b)
	l.plot.drawSeries(b, s, latencyP99Series, byPhase, l.y)
	if l.slo != nil {
		y := num(l.y(*l.slo))
		b.printf(`<line id="slo" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.6" stroke-dasharray="7 4"/>`+"\n",
			num(l.plot.left), y, num(l.plot.left+l.plot.width), y, sloColor)
	}
	b.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333333" stroke-width="1"/>`+"\n",
		num(l.plot.left), num(l.top), num(l.plot.width), num(l.height))
	l.drawLegend(b)
	b.printf("</g>\n")
}

// drawPhases shades the phases as the CPU plot does, without their names,
// which the plot above already gives.
func (l latencyPanel) drawPhases(b *svgBuilder, s scenario.Scenario) {
	p, step := l.plot, phaseTickStep(s)
	for i, phase := range s.Phases {
		start := p.phaseStart[phase.Name]
		x0, x1 := p.x(start), p.x(start+phase.DurationSeconds)
		b.printf(`<rect class="latency-phase" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
			num(x0), num(l.top), num(x1-x0), num(l.height), bandFills[i%len(bandFills)])
		if hogStart, ok := phase.HogStart(s); ok {
			hx := p.x(start + hogStart)
			b.printf(`<line class="hog-start" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e8731a" stroke-width="1" stroke-dasharray="1 3"/>`+"\n",
				num(hx), num(l.top), num(hx), num(l.top+l.height))
		}
		p.xTicks(b, phase, start, step, l.top+l.height)
		if i > 0 {
			b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#9aa3b5" stroke-width="1"/>`+"\n",
				num(x0), num(l.top), num(x0), num(l.top+l.height))
		}
	}
}

func (l latencyPanel) drawYAxis(b *svgBuilder) {
	left, width := l.plot.left, l.plot.width
	for exp := l.lowExp; exp <= l.highExp; exp++ {
		y := l.y(math.Pow(10, float64(exp)))
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#c9cfdb" stroke-width="0.6"/>`+"\n",
			num(left), num(y), num(left+width), num(y))
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333" stroke-width="1"/>`+"\n",
			num(left-5), num(y), num(left), num(y))
		b.text(left-8, y+4, "end", `fill="#333333"`, latencyLabel(exp))
	}
	cx, cy := 20.0, l.top+l.height/2
	b.text(cx, cy, "middle", fmt.Sprintf(`transform="rotate(-90 %s %s)" fill="#333333"`, num(cx), num(cy)),
		"latency (log scale)")
}

// latencyLabel names 10^exp milliseconds in the unit that reads best.
func latencyLabel(exp int) string {
	ms := math.Pow(10, float64(exp))
	if exp >= 3 {
		return strconv.FormatFloat(ms/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
}

func (l latencyPanel) drawLegend(b *svgBuilder) {
	x, y := l.plot.left, l.top-12
	line := latencyP99Series
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`+"\n",
		num(x), num(y), num(x+28), num(y), line.color, num(line.width))
	b.text(x+34, y+4, "start", `fill="#333333"`, line.label+" per tick")
	if l.slo != nil {
		x += 34 + 7.2*float64(len(line.label+" per tick")) + 28
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.6" stroke-dasharray="7 4"/>`+"\n",
			num(x), num(y), num(x+28), num(y), sloColor)
		b.text(x+34, y+4, "start", `fill="#333333"`, l.sloLabel)
	}
}
