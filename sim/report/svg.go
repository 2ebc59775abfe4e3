package report

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/sluice-io/sluice/sim/scenario"
)

// The plot's geometry, in SVG user units (pixels).
const (
	svgWidth     = 1200
	svgHeight    = 540
	marginLeft   = 78
	marginRight  = 30
	marginTop    = 96
	marginBottom = 64
)

// series is one line of the plot. A nil value leaves a gap (an unlimited
// quota); step draws the value flat across its tick, as a setting is; area
// also fills under the line, lightly, so that a line drawn over it (the
// victim's, at the same level when CFS splits a core evenly) hides nothing.
type series struct {
	id, label, color, dash string
	area                   bool
	width                  float64
	step                   bool
	value                  func(Row) *float64
}

func some(v float64) *float64 { return &v }

// plotSeries are drawn in order, so the last ones lie on top.
var plotSeries = []series{
	{id: "shared-capacity", label: "shared CPU capacity", color: "#8a8a8a", dash: "2 3", width: 1, step: true,
		value: func(r Row) *float64 { return some(r.SharedCapacityCores) }},
	{id: "hog-usage", label: "hog usage", color: "#f08a24", width: 2.2, area: true,
		value: func(r Row) *float64 { return some(r.HogUsageCores) }},
	{id: "victim-demand", label: "victim demand", color: "#1b3f8b", dash: "6 4", width: 1.6,
		value: func(r Row) *float64 { return some(r.VictimDemandCores) }},
	{id: "victim-usage", label: "victim usage", color: "#2f86e0", width: 2.2,
		value: func(r Row) *float64 { return some(r.VictimUsageCores) }},
	{id: "hog-quota", label: "hog quota", color: "#b71c1c", dash: "4 3", width: 1.3, step: true,
		value: func(r Row) *float64 { return r.HogQuotaCores }},
}

// victimQuotaSeries is drawn, and named in the legend, only when the
// victim had a quota in some tick, so that the plots of victims without
// one stay as they were.
var victimQuotaSeries = series{id: "victim-quota", label: "victim quota", color: "#0d7a5f", dash: "4 3", width: 1.3, step: true,
	value: func(r Row) *float64 { return r.VictimQuotaCores }}

// seriesOf returns the series the rows plot.
func seriesOf(rows []Row) []series {
	for _, r := range rows {
		if r.VictimQuotaCores != nil {
			return append(slices.Clip(plotSeries), victimQuotaSeries)
		}
	}
	return plotSeries
}

// WriteSVG writes plot.svg: the victim's demand and usage (and its quota
// when it had one), the hog's usage and quota and the shared capacity, in
// cores, over the scenario's phases laid end to end. Each phase is a
// shaded band with its name and control, its time axis starting from 0 as
// the phase starts from a clean node, and a dotted line where the hog
// starts. When the rows measured the victim's latency or the victim has an
// SLO, a second panel below shows its p99 latency per tick on a log scale,
// with the SLO as a dashed line.
func WriteSVG(w io.Writer, s scenario.Scenario, rows []Row) error {
	lines := seriesOf(rows)
	plot := newPlotArea(s, rows, lines)
	latency, withLatency := newLatencyPanel(plot, s, rows)
	height := svgHeight
	if withLatency {
		height += latencyPanelExtra
	}
	var b svgBuilder
	b.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	b.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	b.text(marginLeft, 28, "start", `font-size="17" font-weight="bold"`, s.Name+": CPU of the victim and the hog")
	plot.drawPhases(&b, s)
	plot.drawYAxis(&b)
	byPhase := rowsByPhase(rows)
	for _, line := range lines {
		plot.drawSeries(&b, s, line, byPhase, plot.y)
	}
	plot.drawFrame(&b)
	drawLegend(&b, lines)
	if withLatency {
		latency.draw(&b, s, byPhase)
	}
	b.printf("</svg>\n")
	if _, err := w.Write(b.buf.Bytes()); err != nil {
		return fmt.Errorf("write plot of %s: %w", s.Name, err)
	}
	return nil
}

// plotArea maps seconds (phases end to end) and cores onto the canvas.
type plotArea struct {
	left, top, width, height float64
	totalSeconds, maxCores   float64
	coreStep                 float64
	phaseStart               map[string]float64
}

func newPlotArea(s scenario.Scenario, rows []Row, lines []series) plotArea {
	p := plotArea{
		left: marginLeft, top: marginTop,
		width:      svgWidth - marginLeft - marginRight,
		height:     svgHeight - marginTop - marginBottom,
		phaseStart: map[string]float64{},
	}
	for _, phase := range s.Phases {
		p.phaseStart[phase.Name] = p.totalSeconds
		p.totalSeconds += phase.DurationSeconds
	}
	if p.totalSeconds <= 0 {
		p.totalSeconds = 1
	}
	highest := 0.0
	for _, r := range rows {
		for _, line := range lines {
			if v := line.value(r); v != nil && !math.IsInf(*v, 0) && !math.IsNaN(*v) {
				highest = max(highest, *v)
			}
		}
	}
	if highest <= 0 {
		highest = 1
	}
	p.coreStep = niceStep(highest / 5)
	p.maxCores = math.Ceil(highest*1.08/p.coreStep) * p.coreStep
	return p
}

func (p plotArea) x(seconds float64) float64 { return p.left + seconds/p.totalSeconds*p.width }

func (p plotArea) y(cores float64) float64 {
	cores = min(max(cores, 0), p.maxCores)
	return p.top + p.height - cores/p.maxCores*p.height
}

// axisLabel writes a multiple of a nice step without the float residue
// that summing steps leaves (0.6000000000000001).
func axisLabel(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten, so
// axis labels read as round numbers.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	magnitude := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*magnitude {
			return m * magnitude
		}
	}
	return 10 * magnitude
}

var bandFills = []string{"#f3f5f9", "#e6eaf2"}

func (p plotArea) drawPhases(b *svgBuilder, s scenario.Scenario) {
	step := phaseTickStep(s)
	b.printf(`<g id="phases">` + "\n")
	for i, phase := range s.Phases {
		start := p.phaseStart[phase.Name]
		x0, x1 := p.x(start), p.x(start+phase.DurationSeconds)
		b.printf(`<rect class="phase" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
			num(x0), num(p.top), num(x1-x0), num(p.height), bandFills[i%len(bandFills)])
		mid := (x0 + x1) / 2
		b.text(mid, p.top+18, "middle", `font-size="13" font-weight="bold" fill="#333333"`, phase.Name)
		b.text(mid, p.top+33, "middle", `font-size="11" fill="#666666"`, string(phase.Control))
		if hogStart, ok := phase.HogStart(s); ok {
			hx := p.x(start + hogStart)
			b.printf(`<line class="hog-start" x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e8731a" stroke-width="1" stroke-dasharray="1 3"/>`+"\n",
				num(hx), num(p.top+40), num(hx), num(p.top+p.height))
		}
		p.xTicks(b, phase, start, step, p.top+p.height)
		if i > 0 {
			b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#9aa3b5" stroke-width="1"/>`+"\n",
				num(x0), num(p.top), num(x0), num(p.top+p.height))
		}
	}
	b.text(p.left+p.width/2, p.top+p.height+42, "middle", `font-size="12" fill="#333333"`,
		"seconds since the phase's start (each phase starts from a clean node; dotted: the hog starts)")
	b.printf("</g>\n")
}

// phaseTickStep is the spacing of the time ticks, the same in every phase.
func phaseTickStep(s scenario.Scenario) float64 {
	longest := 0.0
	for _, phase := range s.Phases {
		longest = max(longest, phase.DurationSeconds)
	}
	return niceStep(longest / 4)
}

// xTicks marks a phase's time axis, from 0 at its start, below bottom.
func (p plotArea) xTicks(b *svgBuilder, phase scenario.Phase, start, step, bottom float64) {
	for t := 0.0; t < phase.DurationSeconds-step*0.3; t += step {
		p.xTick(b, start+t, axisLabel(t), bottom)
	}
}

func (p plotArea) xTick(b *svgBuilder, seconds float64, label string, bottom float64) {
	x := p.x(seconds)
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333" stroke-width="1"/>`+"\n",
		num(x), num(bottom), num(x), num(bottom+5))
	b.text(x, bottom+18, "middle", `fill="#333333"`, label)
}

func (p plotArea) drawYAxis(b *svgBuilder) {
	b.printf(`<g id="y-axis">` + "\n")
	steps := int(math.Round(p.maxCores / p.coreStep))
	for i := 0; i <= steps; i++ {
		v := float64(i) * p.coreStep
		y := p.y(v)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#c9cfdb" stroke-width="0.6"/>`+"\n",
			num(p.left), num(y), num(p.left+p.width), num(y))
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333333" stroke-width="1"/>`+"\n",
			num(p.left-5), num(y), num(p.left), num(y))
		b.text(p.left-8, y+4, "end", `fill="#333333"`, axisLabel(v))
	}
	cx, cy := 20.0, p.top+p.height/2
	b.text(cx, cy, "middle", fmt.Sprintf(`transform="rotate(-90 %s %s)" fill="#333333"`, num(cx), num(cy)),
		"CPU (cores)")
	b.printf("</g>\n")
}

func (p plotArea) drawFrame(b *svgBuilder) {
	b.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#333333" stroke-width="1"/>`+"\n",
		num(p.left), num(p.top), num(p.width), num(p.height))
}

// drawSeries draws one polyline per unbroken run of values in each phase,
// placed by y; lines never join across phases, which start from a clean
// node.
func (p plotArea) drawSeries(b *svgBuilder, s scenario.Scenario, line series, byPhase map[string][]Row, y func(float64) float64) {
	b.printf(`<g class="series" id="%s" fill="none" stroke="%s" stroke-width="%s"`, line.id, line.color, num(line.width))
	if line.dash != "" {
		b.printf(` stroke-dasharray="%s"`, line.dash)
	}
	b.printf(` stroke-linejoin="round">` + "\n")
	for _, phase := range s.Phases {
		offset, end := p.phaseStart[phase.Name], p.phaseStart[phase.Name]+phase.DurationSeconds
		var points []string
		var firstX, lastX float64
		flush := func() {
			if len(points) == 0 {
				return
			}
			if line.area {
				base := num(y(0))
				b.printf(`<polygon class="area" points="%s %s,%s %s,%s" fill="%s" fill-opacity="0.22" stroke="none"/>`+"\n",
					joinPoints(points), num(lastX), base, num(firstX), base, line.color)
			}
			b.printf(`<polyline points="%s"/>`+"\n", joinPoints(points))
			points = points[:0]
		}
		for _, r := range byPhase[phase.Name] {
			v := line.value(r)
			if v == nil {
				flush()
				continue
			}
			level := num(y(*v))
			tickStart, tickEnd := min(offset+r.start(), end), min(offset+r.Seconds, end)
			xs := []float64{p.x((tickStart + tickEnd) / 2)}
			if line.step {
				xs = []float64{p.x(tickStart), p.x(tickEnd)}
			}
			if len(points) == 0 {
				firstX = xs[0]
			}
			lastX = xs[len(xs)-1]
			for _, x := range xs {
				points = append(points, num(x)+","+level)
			}
		}
		flush()
	}
	b.printf("</g>\n")
}

func drawLegend(b *svgBuilder, lines []series) {
	x := float64(marginLeft)
	const y = 56.0
	b.printf(`<g id="legend">` + "\n")
	for _, line := range lines {
		if line.area {
			b.printf(`<rect x="%s" y="%s" width="28" height="8" fill="%s" fill-opacity="0.22"/>`+"\n", num(x), num(y-4), line.color)
		}
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"`,
			num(x), num(y), num(x+28), num(y), line.color, num(max(line.width, 2)))
		if line.dash != "" {
			b.printf(` stroke-dasharray="%s"`, line.dash)
		}
		b.printf("/>\n")
		b.text(x+34, y+4, "start", `fill="#333333"`, line.label)
		x += 34 + 7.2*float64(len(line.label)) + 28
	}
	b.printf("</g>\n")
}

func rowsByPhase(rows []Row) map[string][]Row {
	byPhase := map[string][]Row{}
	for _, r := range rows {
		byPhase[r.Phase] = append(byPhase[r.Phase], r)
	}
	for _, phaseRows := range byPhase {
		slices.SortStableFunc(phaseRows, func(a, b Row) int { return cmp.Compare(a.Seconds, b.Seconds) })
	}
	return byPhase
}

func joinPoints(points []string) string {
	var b bytes.Buffer
	for i, pt := range points {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pt)
	}
	return b.String()
}

// num formats a coordinate with one decimal: enough for the eye, and the
// same bytes on every run.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if s == "-0.0" {
		return "0.0"
	}
	return s
}

// svgBuilder collects the document so that WriteSVG writes it in one go
// and has one error to report.
type svgBuilder struct{ buf bytes.Buffer }

func (b *svgBuilder) printf(format string, args ...any) { fmt.Fprintf(&b.buf, format, args...) }

// text writes escaped text at (x, y); attrs are extra attributes, written
// as they are.
func (b *svgBuilder) text(x, y float64, anchor, attrs, content string) {
	b.printf(`<text x="%s" y="%s" text-anchor="%s" %s>`, num(x), num(y), anchor, attrs)
	_ = xml.EscapeText(&b.buf, []byte(content)) // a bytes.Buffer does not fail
	b.printf("</text>\n")
}
