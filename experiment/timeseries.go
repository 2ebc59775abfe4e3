package experiment

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
)

// maxTimeseriesRows bounds what ReadTimeseries accepts: a day of 250 ms
// ticks, far beyond any experiment.
const maxTimeseriesRows = 400_000

// ReadTimeseries reads a run's timeseries.csv back into rows, as the run
// measured them, so that a real run can be summarised again or fitted.
func ReadTimeseries(dir string) ([]report.Row, error) {
	path := filepath.Join(dir, TimeseriesFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read timeseries: %w", err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(records) < 1 || len(records) > maxTimeseriesRows+1 {
		return nil, fmt.Errorf("%s: %d lines, want a header and at most %d rows", path, len(records), maxTimeseriesRows)
	}
	column := map[string]int{}
	for i, name := range records[0] {
		column[name] = i
	}
	rows := make([]report.Row, 0, len(records)-1)
	for line, rec := range records[1:] {
		row, err := parseRow(column, rec)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line+2, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func parseRow(column map[string]int, rec []string) (report.Row, error) {
	var r report.Row
	var errs []error
	text := func(name string) string {
		i, ok := column[name]
		if !ok || i >= len(rec) {
			errs = append(errs, fmt.Errorf("no column %s", name))
			return ""
		}
		return rec[i]
	}
	number := func(name string) float64 {
		v, err := strconv.ParseFloat(text(name), 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("column %s: %w", name, err))
		}
		return v
	}
	optional := func(name string) *float64 {
		if text(name) == "" {
			return nil
		}
		v := number(name)
		return &v
	}
	r.Phase, r.Control = text("phase"), scenario.Control(text("control"))
	r.Seconds, r.IntervalSeconds = number("seconds"), number("interval_seconds")
	r.VictimDemandCores, r.VictimUsageCores = number("victim_demand_cores"), number("victim_usage_cores")
	r.VictimServedCores, r.VictimWaitCores = number("victim_served_cores"), number("victim_wait_cores")
	r.VictimBacklogStartCPUSeconds = number("victim_backlog_start_cpu_seconds")
	r.VictimBacklogEndCPUSeconds = number("victim_backlog_end_cpu_seconds")
	r.HogUsageCores, r.HogQuotaCores = number("hog_usage_cores"), optional("hog_quota_cores")
	r.SharedCapacityCores = number("shared_capacity_cores")
	r.VictimLatencyP50Ms, r.VictimLatencyP99Ms = optional("victim_latency_p50_ms"), optional("victim_latency_p99_ms")
	r.VictimSLOP99Ms = optional("victim_slo_p99_ms")
	// Runs written before the victim's quota was a column have none.
	if _, ok := column["victim_quota_cores"]; ok {
		r.VictimQuotaCores = optional("victim_quota_cores")
	}
	if len(errs) > 0 {
		return report.Row{}, errs[0]
	}
	return r, nil
}
