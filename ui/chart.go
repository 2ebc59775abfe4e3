package ui

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Chart sizes, in SVG user units; the page scales them to its width.
const (
	chartWidth  = 640
	chartHeight = 170
	chartLeft   = 48
	chartRight  = 8
	chartTop    = 22
	chartBottom = 20
)

// line is one series of a chart; NaN values are gaps.
type line struct {
	Name string
	// Class picks its colour and dash in style.css.
	Class  string
	Values []float64
}

// chart is a line chart over the samples of an app, drawn as inline SVG.
type chart struct {
	Title string
	Unit  string
	Lines []line
	// Points is how many samples it spans (each line has as many values).
	Points int
}

// SVG draws the chart. The y axis starts at 0 and ends a little above the
// largest value; x is the sample's index, oldest on the left.
func (c chart) SVG() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" data-points="%d" aria-label="%s">`,
		chartWidth, chartHeight, c.Points, template.HTMLEscapeString(c.Title))
	fmt.Fprintf(&b, `<text class="title" x="%d" y="14">%s (%s)</text>`, chartLeft, template.HTMLEscapeString(c.Title), template.HTMLEscapeString(c.Unit))
	top := c.top()
	plotW, plotH := float64(chartWidth-chartLeft-chartRight), float64(chartHeight-chartTop-chartBottom)
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%g" height="%g"/>`, chartLeft, chartTop, plotW, plotH)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">%s</text>`, chartLeft-4, chartTop+8, formatValue(top))
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d" text-anchor="end">0</text>`, chartLeft-4, chartHeight-chartBottom)
	fmt.Fprintf(&b, `<text class="axis" x="%d" y="%d">%d samples</text>`, chartLeft, chartHeight-6, c.Points)
	x := func(i int) float64 {
		if c.Points <= 1 {
			return chartLeft
		}
		return chartLeft + plotW*float64(i)/float64(c.Points-1)
	}
	y := func(v float64) float64 { return float64(chartTop) + plotH*(1-v/top) }
	legendX := chartLeft + 200
	for _, l := range c.Lines {
		for _, run := range runs(l.Values) {
			b.WriteString(`<polyline class="` + l.Class + `" points="`)
			for i := run[0]; i < run[1]; i++ {
				fmt.Fprintf(&b, "%.1f,%.1f ", x(i), y(l.Values[i]))
			}
			b.WriteString(`"/>`)
		}
		fmt.Fprintf(&b, `<text class="legend %s" x="%d" y="14">%s</text>`, l.Class, legendX, template.HTMLEscapeString(l.Name))
		legendX += 12 + 7*len(l.Name)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// top is the y axis's end: the largest value and a margin, 1 when all are 0.
func (c chart) top() float64 {
	top := 0.0
	for _, l := range c.Lines {
		for _, v := range l.Values {
			if !math.IsNaN(v) {
				top = max(top, v)
			}
		}
	}
	if top <= 0 {
		return 1
	}
	return top * 1.1
}

// runs are the [start, end) index ranges of values without a NaN.
func runs(values []float64) [][2]int {
	var out [][2]int
	start := -1
	for i, v := range values {
		switch {
		case math.IsNaN(v) && start >= 0:
			out = append(out, [2]int{start, i})
			start = -1
		case !math.IsNaN(v) && start < 0:
			start = i
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(values)})
	}
	return out
}

func formatValue(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}
