package demand

import (
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sluice-io/sluice/state"
)

func at(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }

type sample struct {
	seconds float64
	want    float64
}

func checkSamples(t *testing.T, name string, g Generator, samples ...sample) {
	t.Helper()
	for _, s := range samples {
		if got := g.Demand(at(s.seconds)); math.Abs(got-s.want) > 1e-9 {
			t.Errorf("%s at %gs: %.9f cores, want %.9f", name, s.seconds, got, s.want)
		}
	}
}

func fromSpec(t *testing.T, spec state.DemandSpec) Generator {
	t.Helper()
	g, err := FromSpec(spec, nil)
	if err != nil {
		t.Fatalf("FromSpec(%+v): %v", spec, err)
	}
	return g
}

func TestSine(t *testing.T) {
	g := fromSpec(t, state.DemandSpec{Kind: "sine", Base: 0.5, Amplitude: 0.3, PeriodSeconds: 20})
	checkSamples(t, "sine", g,
		sample{0, 0.5}, sample{5, 0.8}, sample{10, 0.5}, sample{15, 0.2}, sample{20, 0.5},
		sample{2.5, 0.5 + 0.3*math.Sqrt2/2})
}

func TestSineClampsAtZero(t *testing.T) {
	g := fromSpec(t, state.DemandSpec{Kind: "sine", Base: 0.1, Amplitude: 0.5, PeriodSeconds: 4})
	checkSamples(t, "sine", g, sample{1, 0.6}, sample{3, 0})
}

func TestConstant(t *testing.T) {
	g := fromSpec(t, state.DemandSpec{Kind: "constant", Value: 1.5})
	checkSamples(t, "constant", g, sample{0, 1.5}, sample{1e6, 1.5})
	checkSamples(t, "negative constant", Constant{Cores: -1}, sample{0, 0})
}

func TestStep(t *testing.T) {
	g := fromSpec(t, state.DemandSpec{Kind: "step", Value: 0.2, StepAtSeconds: 10, StepTo: 0.9})
	checkSamples(t, "step", g, sample{0, 0.2}, sample{9.999, 0.2}, sample{10, 0.9}, sample{100, 0.9})
}

func TestSquare(t *testing.T) {
	g := fromSpec(t, state.DemandSpec{Kind: "square", Base: 0.5, Amplitude: 0.25, PeriodSeconds: 10})
	checkSamples(t, "square", g,
		sample{0, 0.75}, sample{4.9, 0.75}, sample{5, 0.25}, sample{9.9, 0.25}, sample{10, 0.75}, sample{27, 0.25})
}

const traceCSV = `seconds,cores
# a ramp, a plateau and a drop
0,0
10,1
20,1
25,0.5
`

func TestCSVInterpolatesLinearly(t *testing.T) {
	files := fstest.MapFS{"load.csv": {Data: []byte(traceCSV)}}
	g, err := FromSpec(state.DemandSpec{Kind: "csv", File: "load.csv"}, files)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, "csv", g,
		sample{-1, 0}, sample{0, 0}, sample{2.5, 0.25}, sample{10, 1}, sample{15, 1},
		sample{22.5, 0.75}, sample{25, 0.5}, sample{1000, 0.5})
}

func TestCSVErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"0,0.5\n1,x\n":         "bad.csv:2: cores",
		"0,0.5\n2,1\n1,1\n":    "bad.csv:3: time 1 s does not come after 2 s",
		"0,-0.5\n":             "bad.csv:1: demand -0.5",
		"seconds,cores\n":      "no points",
		"0,0.5,7\n":            "wrong number of fields",
		"seconds,cores\nx,1\n": "bad.csv:2: seconds",
	}
	for text, want := range cases {
		_, err := ParseCSV(strings.NewReader(text), "bad.csv")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseCSV(%q): error %v, want one containing %q", text, err, want)
		}
	}
}

func TestFromSpecRejectsBadSpecs(t *testing.T) {
	cases := []struct {
		spec state.DemandSpec
		want string
	}{
		{state.DemandSpec{Kind: "sine", Base: 1}, "period_seconds must be > 0"},
		{state.DemandSpec{Kind: "square", PeriodSeconds: -1}, "period_seconds must be > 0"},
		{state.DemandSpec{Kind: "constant", Value: math.NaN()}, "value must be a finite number"},
		{state.DemandSpec{Kind: "csv"}, "file is required"},
		{state.DemandSpec{Kind: "csv", File: "x.csv"}, "no directory"},
		{state.DemandSpec{Kind: "poisson"}, `demand kind "poisson"`},
	}
	for _, c := range cases {
		_, err := FromSpec(c.spec, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FromSpec(%+v): error %v, want one containing %q", c.spec, err, c.want)
		}
	}
	_, err := FromSpec(state.DemandSpec{Kind: "csv", File: "missing.csv"}, fstest.MapFS{})
	if err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing csv file: error %v, want one naming the file", err)
	}
}
