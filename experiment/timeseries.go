package experiment

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-io/sluice/sim/report"
)

// ReadTimeseries reads a run's timeseries.csv back into rows, as the run
// measured them, so that a real run can be summarised again or fitted.
func ReadTimeseries(dir string) ([]report.Row, error) {
	path := filepath.Join(dir, TimeseriesFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read timeseries: %w", err)
	}
	defer f.Close()
	return report.ReadCSV(f, path)
}
