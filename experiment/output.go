package experiment

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluice-io/sluice/internal/fsutil"

	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

// Output files of a run, in its output directory.
const (
	TimeseriesFile = "timeseries.csv"
	PlotFile       = "plot.svg"
	EventsFile     = "events.jsonl"
	SummaryFile    = "summary.json"
)

// WriteOutputs writes the run's four files into dir, creating it.
func WriteOutputs(dir string, sc scenario.Scenario, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	writers := []struct {
		name  string
		write func(io.Writer) error
	}{
		{TimeseriesFile, func(w io.Writer) error { return report.WriteCSV(w, res.Rows) }},
		{PlotFile, func(w io.Writer) error { return report.WriteSVG(w, sc, res.Rows) }},
		{EventsFile, func(w io.Writer) error { return state.WriteRecording(w, res.Recording) }},
		{SummaryFile, res.Summary.WriteJSON},
	}
	for _, out := range writers {
		if err := fsutil.WriteFile(filepath.Join(dir, out.name), out.write); err != nil {
			return err
		}
	}
	return nil
}
