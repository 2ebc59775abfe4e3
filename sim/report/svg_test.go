package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// plausibleRows imitates a run of the shield-sine scenario on one shared
// core with a crude model (CFS splits the core evenly, a quota caps the hog),
// enough to give the plot every kind of line to draw.
func plausibleRows(t *testing.T) (scenario.Scenario, []Row) {
	t.Helper()
	s, err := scenario.Load("../../examples/experiments/shield-slo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for _, phase := range s.Phases {
		hogStart, hogRuns := phase.HogStart(*s)
		backlog := 0.0
		for tick := 1; float64(tick)*s.TickSeconds <= phase.DurationSeconds+1e-9; tick++ {
			end := float64(tick) * s.TickSeconds
			demand := 0.5 + 0.3*math.Sin(2*math.Pi*end/20)
			want := demand + backlog/s.TickSeconds
			hogOn := hogRuns && end > hogStart
			var quota *float64
			switch {
			case phase.Control == scenario.ControlStaticSplit:
				quota = some(0.5)
			case phase.Control == scenario.ControlPolicy && hogOn && end > hogStart+s.TickSeconds:
				quota = some(math.Max(0.05, 0.9-demand))
			}
			victimShare := 1.0
			if hogOn {
				victimShare = 0.5
				if phase.Control == scenario.ControlStaticShares {
					victimShare = 64.0 / 65
				}
				if quota != nil {
					victimShare = math.Max(victimShare, 1-*quota)
				}
			}
			usage := math.Min(want, victimShare)
			hog := 0.0
			if hogOn {
				hog = 1 - usage
				if quota != nil {
					hog = math.Min(hog, *quota)
				}
			}
			r := Row{
				Phase: phase.Name, Control: phase.Control, Seconds: end, IntervalSeconds: s.TickSeconds,
				VictimDemandCores: demand, VictimUsageCores: usage, VictimServedCores: usage,
				VictimBacklogStartCPUSeconds: backlog, VictimWaitCores: math.Max(0, want-usage),
				HogUsageCores: hog, HogQuotaCores: quota, SharedCapacityCores: 1,
			}
			backlog = math.Max(0, backlog+(demand-usage)*s.TickSeconds)
			r.VictimBacklogEndCPUSeconds = backlog
			// Requests of 1 ms wait for the backlog; every seventh tick has none.
			if tick%7 != 0 {
				wait := 1000 * backlog / usage
				r.SetVictimLatency(&state.LatencyStats{Count: 100, P50Ms: 1 + wait/2, P99Ms: 1 + wait}, s.VictimSLO())
			}
			rows = append(rows, r)
		}
	}
	return *s, rows
}

func TestWriteSVGIsWellFormedAndHasEverySeries(t *testing.T) {
	s, rows := plausibleRows(t)
	var out bytes.Buffer
	if err := WriteSVG(&out, s, rows); err != nil {
		t.Fatal(err)
	}
	points := map[string]int{} // series id → points drawn
	texts := map[string]bool{} // every text shown
	phaseBands, latencyBands, sloLines := 0, 0, 0
	var height string
	dec := xml.NewDecoder(bytes.NewReader(out.Bytes()))
	dec.Strict = true
	var inSeries, inText string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("plot.svg is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "g":
				if attr(el, "class") == "series" {
					inSeries = attr(el, "id")
				}
			case "polyline":
				points[inSeries] += len(strings.Fields(attr(el, "points")))
			case "svg":
				height = attr(el, "height")
			case "line":
				if attr(el, "id") == "slo" {
					sloLines++
				}
			case "rect":
				switch attr(el, "class") {
				case "phase":
					phaseBands++
				case "latency-phase":
					latencyBands++
				}
			case "text":
				inText = "open"
			}
		case xml.CharData:
			if inText != "" {
				texts[string(el)] = true
			}
		case xml.EndElement:
			if el.Name.Local == "g" {
				inSeries = ""
			}
			if el.Name.Local == "text" {
				inText = ""
			}
		}
	}
	ticks := len(rows)
	// Lines draw a point per tick; steps two; the quota only where one is set.
	want := map[string]int{"victim-demand": ticks, "victim-usage": ticks, "hog-usage": ticks, "shared-capacity": 2 * ticks}
	for id, n := range want {
		if points[id] != n {
			t.Errorf("series %s has %d points, want %d", id, points[id], n)
		}
	}
	quotaTicks := 0
	for _, r := range rows {
		if r.HogQuotaCores != nil {
			quotaTicks++
		}
	}
	if quotaTicks == 0 || points["hog-quota"] != 2*quotaTicks {
		t.Errorf("hog-quota has %d points, want %d", points["hog-quota"], 2*quotaTicks)
	}
	if phaseBands != len(s.Phases) || latencyBands != len(s.Phases) {
		t.Errorf("%d phase bands and %d in the latency panel, want %d each", phaseBands, latencyBands, len(s.Phases))
	}
	measured := 0
	for _, r := range rows {
		if r.VictimLatencyP99Ms != nil {
			measured++
		}
	}
	if measured == 0 || measured == ticks || points["victim-latency-p99"] != measured {
		t.Errorf("victim-latency-p99 has %d points, want one for each of the %d ticks with requests", points["victim-latency-p99"], measured)
	}
	if sloLines != 1 || height != "814" {
		t.Errorf("%d SLO lines and height %s, want one and 814 (540 + the latency panel)", sloLines, height)
	}
	for _, label := range []string{"alone", "contended", "shielded", "static-shares", "static-split", "policy",
		"victim demand", "victim usage", "hog usage", "hog quota", "CPU (cores)", "0", "10", "30",
		"victim p99 latency per tick", "SLO: p99 ≤ 20 ms", "latency (log scale)", "1 ms", "100 ms", "1 s"} {
		if !texts[label] {
			t.Errorf("the plot shows no text %q", label)
		}
	}
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestWriteSVGEscapesNames(t *testing.T) {
	s := handScenario()
	s.Name = `a <b> & "c"`
	var out bytes.Buffer
	if err := WriteSVG(&out, s, handRows()); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(out.Bytes(), new(struct{})); err != nil {
		t.Fatalf("plot.svg with markup in the name is not XML: %v", err)
	}
	if !strings.Contains(out.String(), "a &lt;b&gt; &amp; &#34;c&#34;") {
		t.Errorf("the name is not escaped:\n%s", out.String())
	}
}

func TestWriteSVGIsStable(t *testing.T) {
	s, rows := plausibleRows(t)
	var a, b bytes.Buffer
	if err := WriteSVG(&a, s, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteSVG(&b, s, rows); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two plots of the same rows differ")
	}
}

// Without latency or SLO the plot is the CPU panel alone; with an SLO and
// no measurement the latency panel shows the SLO on its own decades.
func TestWriteSVGLatencyPanel(t *testing.T) {
	rows := handRows()
	for i := range rows {
		rows[i].SetVictimLatency(nil, nil)
	}
	var plain bytes.Buffer
	if err := WriteSVG(&plain, handScenario(), rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plain.String(), `height="540"`) || strings.Contains(plain.String(), "latency-panel") {
		t.Errorf("a plot without latency or SLO has a latency panel:\n%s", plain.String())
	}
	var withSLO bytes.Buffer
	if err := WriteSVG(&withSLO, sloScenario(), rows); err != nil {
		t.Fatal(err)
	}
	// The SLO, 20 ms, alone sets the scale: 10 to 100 ms. The panel is 200
	// high from y = 574, so 20 ms is at 774 − 200·log10(2) = 713.8.
	out := withSLO.String()
	for _, want := range []string{`height="814"`, `<line id="slo" x1="78.0" y1="713.8" x2="1170.0" y2="713.8"`, ">10 ms<", ">100 ms<"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plot with an SLO and no latency lacks %s", want)
		}
	}
	if strings.Contains(out, ">1 ms<") || strings.Contains(out, ">1 s<") {
		t.Error("the latency scale reaches beyond the decades around the SLO")
	}
}

func TestLatencyLabel(t *testing.T) {
	cases := map[int]string{-1: "0.1 ms", 0: "1 ms", 2: "100 ms", 3: "1 s", 4: "10 s"}
	for exp, want := range cases {
		if got := latencyLabel(exp); got != want {
			t.Errorf("latencyLabel(%d) = %q, want %q", exp, got, want)
		}
	}
}

func TestNiceStep(t *testing.T) {
	cases := map[float64]float64{0.16: 0.2, 0.2: 0.2, 0.21: 0.25, 0.3: 0.5, 0.7: 1, 8: 10, 12: 20, 0: 1}
	for raw, want := range cases {
		if got := niceStep(raw); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", raw, got, want)
		}
	}
}

// The victim's quota is drawn, and named, only when it had one.
func TestWriteSVGDrawsTheVictimQuotaOnlyWhenSet(t *testing.T) {
	s, rows := plausibleRows(t)
	var without bytes.Buffer
	if err := WriteSVG(&without, s, rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(without.String(), "victim quota") || strings.Contains(without.String(), `id="victim-quota"`) {
		t.Error("a victim without a quota has a quota series")
	}
	rows[3].VictimQuotaCores = ptr(0.35)
	var with bytes.Buffer
	if err := WriteSVG(&with, s, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(with.String(), ">victim quota</text>") || !strings.Contains(with.String(), `id="victim-quota"`) {
		t.Error("the victim's quota is neither drawn nor named")
	}
}
