package demand

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Point is one row of a demand trace.
type Point struct {
	Seconds float64
	Cores   float64
}

// Trace replays a recorded demand. Between two points the demand is
// interpolated linearly, so a trace sampled once per tick on a real node
// replays smoothly at any tick length; before the first point it is the
// first value, after the last point the last value.
type Trace struct {
	points []Point
	// offered[i] is the work offered from time zero to points[i].
	offered []float64
}

// NewTrace checks the points (at least one, times strictly increasing,
// demands finite and ≥ 0) and returns their trace.
func NewTrace(points []Point) (*Trace, error) {
	if len(points) == 0 {
		return nil, errors.New("trace has no points")
	}
	for i, p := range points {
		if err := checkPoint(lastOf(points[:i]), p); err != nil {
			return nil, fmt.Errorf("point %d: %w", i, err)
		}
	}
	tr := &Trace{points: append([]Point(nil), points...)}
	tr.offered = make([]float64, len(points))
	for i := range points {
		tr.offered[i] = tr.offeredFrom(i, points[i].Seconds)
	}
	return tr, nil
}

func lastOf(points []Point) *Point {
	if len(points) == 0 {
		return nil
	}
	return &points[len(points)-1]
}

func checkPoint(prev *Point, p Point) error {
	if math.IsNaN(p.Seconds) || math.IsInf(p.Seconds, 0) {
		return fmt.Errorf("time %g is not a finite number", p.Seconds)
	}
	if math.IsNaN(p.Cores) || math.IsInf(p.Cores, 0) || p.Cores < 0 {
		return fmt.Errorf("demand %g cores must be a finite number ≥ 0", p.Cores)
	}
	if prev != nil && p.Seconds <= prev.Seconds {
		return fmt.Errorf("time %g s does not come after %g s", p.Seconds, prev.Seconds)
	}
	return nil
}

// Demand implements Generator.
func (tr *Trace) Demand(t time.Duration) float64 {
	at := seconds(t)
	pts := tr.points
	next := sort.Search(len(pts), func(i int) bool { return pts[i].Seconds > at })
	switch next {
	case 0:
		return pts[0].Cores
	case len(pts):
		return pts[len(pts)-1].Cores
	}
	a, b := pts[next-1], pts[next]
	return a.Cores + (b.Cores-a.Cores)*(at-a.Seconds)/(b.Seconds-a.Seconds)
}

// ParseCSV reads a trace of "seconds,cores" rows. A first row that is not
// numeric is a header; blank lines and lines starting with '#' are skipped.
// name is used in errors.
func ParseCSV(r io.Reader, name string) (*Trace, error) {
	rd := csv.NewReader(r)
	rd.Comment = '#'
	rd.FieldsPerRecord = 2
	rd.TrimLeadingSpace = true
	var points []Point
	for first := true; ; first = false {
		rec, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demand csv %s: %w", name, err)
		}
		line, _ := rd.FieldPos(0)
		p, err := parseRow(rec)
		if err != nil && first {
			continue // a header
		}
		if err == nil {
			err = checkPoint(lastOf(points), p)
		}
		if err != nil {
			return nil, fmt.Errorf("demand csv %s:%d: %w", name, line, err)
		}
		points = append(points, p)
	}
	tr, err := NewTrace(points)
	if err != nil {
		return nil, fmt.Errorf("demand csv %s: %w", name, err)
	}
	return tr, nil
}

func parseRow(rec []string) (Point, error) {
	secs, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
	if err != nil {
		return Point{}, fmt.Errorf("seconds %q is not a number", rec[0])
	}
	cores, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
	if err != nil {
		return Point{}, fmt.Errorf("cores %q is not a number", rec[1])
	}
	return Point{Seconds: secs, Cores: cores}, nil
}
