// Package demand turns a state.DemandSpec into a CPU demand over virtual
// time: how many cores a simulated container would use at each instant if
// nothing held it back.
//
// Time is measured from the container's start, so a scenario that starts a
// container late replays the same curve, shifted. Every generator is pure
// and never returns a negative demand.
package demand

import (
	"fmt"
	"io/fs"
	"math"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Generator gives a container's CPU demand, in cores, t after its start.
type Generator interface {
	Demand(t time.Duration) float64
}

// Kinds of generator, as DemandSpec.Kind names them.
const (
	KindSine     = "sine"
	KindConstant = "constant"
	KindStep     = "step"
	KindSquare   = "square"
	KindCSV      = "csv"
)

// FromSpec builds the generator a spec describes. files is where a csv
// spec's File is read from (typically the directory of the scenario or app
// file); it may be nil when no spec names a file.
func FromSpec(spec state.DemandSpec, files fs.FS) (Offered, error) {
	switch spec.Kind {
	case KindSine, KindSquare:
		if !(spec.PeriodSeconds > 0) || math.IsInf(spec.PeriodSeconds, 0) {
			return nil, fmt.Errorf("demand %s: period_seconds must be > 0, got %g", spec.Kind, spec.PeriodSeconds)
		}
		if err := finite(spec.Kind, field{"base", spec.Base}, field{"amplitude", spec.Amplitude}); err != nil {
			return nil, err
		}
		if spec.Kind == KindSine {
			return Sine{Base: spec.Base, Amplitude: spec.Amplitude, PeriodSeconds: spec.PeriodSeconds}, nil
		}
		return Square{Base: spec.Base, Amplitude: spec.Amplitude, PeriodSeconds: spec.PeriodSeconds}, nil
	case KindConstant:
		if err := finite(spec.Kind, field{"value", spec.Value}); err != nil {
			return nil, err
		}
		return Constant{Cores: spec.Value}, nil
	case KindStep:
		err := finite(spec.Kind, field{"value", spec.Value}, field{"step_to", spec.StepTo}, field{"step_at_seconds", spec.StepAtSeconds})
		if err != nil {
			return nil, err
		}
		return Step{Before: spec.Value, After: spec.StepTo, AtSeconds: spec.StepAtSeconds}, nil
	case KindCSV:
		if spec.Points != nil {
			return traceFromPoints(spec)
		}
		return traceFromFile(spec.File, files)
	}
	return nil, fmt.Errorf("demand kind %q: must be one of %s, %s, %s, %s, %s",
		spec.Kind, KindSine, KindConstant, KindStep, KindSquare, KindCSV)
}

// field is a spec field, named as in its JSON, for error messages.
type field struct {
	name  string
	value float64
}

func finite(kind string, fields ...field) error {
	for _, f := range fields {
		if math.IsNaN(f.value) || math.IsInf(f.value, 0) {
			return fmt.Errorf("demand %s: %s must be a finite number, got %g", kind, f.name, f.value)
		}
	}
	return nil
}

func traceFromPoints(spec state.DemandSpec) (*Trace, error) {
	if spec.File != "" {
		return nil, fmt.Errorf("demand csv: file %s and points: give one or the other", spec.File)
	}
	points := make([]Point, len(spec.Points))
	for i, p := range spec.Points {
		points[i] = Point{Seconds: p[0], Cores: p[1]}
	}
	tr, err := NewTrace(points)
	if err != nil {
		return nil, fmt.Errorf("demand csv points: %w", err)
	}
	return tr, nil
}

// Inline returns spec with a csv File's rows as Points, read from files,
// so that the demand travels without the file; other specs unchanged.
func Inline(spec state.DemandSpec, files fs.FS) (state.DemandSpec, error) {
	if spec.Kind != KindCSV || spec.File == "" {
		return spec, nil
	}
	tr, err := traceFromFile(spec.File, files)
	if err != nil {
		return spec, err
	}
	if len(tr.points) > state.MaxDemandPoints {
		return spec, fmt.Errorf("demand csv %s: %d rows, at most %d travel with a container", spec.File, len(tr.points), state.MaxDemandPoints)
	}
	spec.File, spec.Points = "", make([][2]float64, len(tr.points))
	for i, p := range tr.points {
		spec.Points[i] = [2]float64{p.Seconds, p.Cores}
	}
	return spec, nil
}

func traceFromFile(name string, files fs.FS) (*Trace, error) {
	if name == "" {
		return nil, fmt.Errorf("demand csv: file is required")
	}
	if files == nil {
		return nil, fmt.Errorf("demand csv %s: no directory to read demand files from", name)
	}
	f, err := files.Open(name)
	if err != nil {
		return nil, fmt.Errorf("demand csv: %w", err)
	}
	defer f.Close()
	return ParseCSV(f, name)
}

func seconds(t time.Duration) float64 { return t.Seconds() }

// Sine is Base + Amplitude·sin(2πt/Period).
type Sine struct {
	Base, Amplitude, PeriodSeconds float64
}

// Demand implements Generator.
func (s Sine) Demand(t time.Duration) float64 {
	return max(0, s.Base+s.Amplitude*math.Sin(2*math.Pi*seconds(t)/s.PeriodSeconds))
}

// Constant is the same demand at all times. A CPU hog is a Constant of at
// least the number of CPUs it may use.
type Constant struct{ Cores float64 }

// Demand implements Generator.
func (c Constant) Demand(time.Duration) float64 { return max(0, c.Cores) }

// Step is Before until AtSeconds, After from then on.
type Step struct {
	Before, After, AtSeconds float64
}

// Demand implements Generator.
func (s Step) Demand(t time.Duration) float64 {
	if seconds(t) < s.AtSeconds {
		return max(0, s.Before)
	}
	return max(0, s.After)
}

// Square is Base + Amplitude for the first half of each period and
// Base − Amplitude for the second.
type Square struct {
	Base, Amplitude, PeriodSeconds float64
}

// Demand implements Generator.
func (s Square) Demand(t time.Duration) float64 {
	phase := math.Mod(seconds(t), s.PeriodSeconds)
	if phase < 0 {
		phase += s.PeriodSeconds
	}
	if phase < s.PeriodSeconds/2 {
		return max(0, s.Base+s.Amplitude)
	}
	return max(0, s.Base-s.Amplitude)
}
