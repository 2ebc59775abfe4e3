package demand

import (
	"fmt"
	"math"
	"testing"
)

// numericOffered integrates g's Demand by the midpoint rule, which is
// off by up to a step's share of a jump where a demand steps.
func numericOffered(g Generator, seconds float64) float64 {
	const steps = 200_000
	dt := seconds / steps
	total := 0.0
	for i := range steps {
		total += g.Demand(at((float64(i)+0.5)*dt)) * dt
	}
	return total
}

func TestOfferedIsTheIntegralOfDemand(t *testing.T) {
	trace, err := NewTrace([]Point{{-2, 0.4}, {1, 0.1}, {3, 0.9}, {3.5, 0.2}, {8, 0.6}})
	if err != nil {
		t.Fatal(err)
	}
	late, err := NewTrace([]Point{{2, 0.3}, {4, 1.1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []Offered{
		Sine{Base: 0.5, Amplitude: 0.3, PeriodSeconds: 7},
		Sine{Base: 0.1, Amplitude: 0.5, PeriodSeconds: 4},  // clamped below zero
		Sine{Base: -0.2, Amplitude: 0.5, PeriodSeconds: 3}, // mostly clamped
		Sine{Base: 0.3, Amplitude: -0.6, PeriodSeconds: 5}, // starts downwards
		Sine{Base: -1, Amplitude: 0.5, PeriodSeconds: 5},   // never positive
		Constant{Cores: 0.7},
		Step{Before: 0.2, After: 0.9, AtSeconds: 4.3},
		Square{Base: 0.4, Amplitude: 0.6, PeriodSeconds: 2.6},
		trace, late,
	} {
		for _, seconds := range []float64{0.37, 2.5, 6, 11.3, 23.9} {
			want := numericOffered(g, seconds)
			if got := g.Offered(at(seconds)); math.Abs(got-want) > 5e-5*max(1, want) {
				t.Errorf("%s over %g s: offered %.9f, want %.9f", describe(g), seconds, got, want)
			}
		}
		if got := g.Offered(at(-1)); got != 0 {
			t.Errorf("%s offered %g before time zero", describe(g), got)
		}
	}
}

func describe(g Generator) string {
	if tr, ok := g.(*Trace); ok {
		return fmt.Sprintf("trace %v", tr.points)
	}
	return fmt.Sprintf("%T%+v", g, g)
}
