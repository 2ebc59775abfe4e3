package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// column is one column of timeseries.csv. New measurements (the latency of
// a later mode, say) are one more entry in csvColumns.
type column struct {
	header string
	value  func(Row) string
}

var csvColumns = []column{
	{"phase", func(r Row) string { return r.Phase }},
	{"control", func(r Row) string { return string(r.Control) }},
	{"seconds", func(r Row) string { return formatFloat(r.Seconds) }},
	{"interval_seconds", func(r Row) string { return formatFloat(r.IntervalSeconds) }},
	{"victim_demand_cores", func(r Row) string { return formatFloat(r.VictimDemandCores) }},
	{"victim_usage_cores", func(r Row) string { return formatFloat(r.VictimUsageCores) }},
	{"victim_served_cores", func(r Row) string { return formatFloat(r.VictimServedCores) }},
	{"victim_backlog_start_cpu_seconds", func(r Row) string { return formatFloat(r.VictimBacklogStartCPUSeconds) }},
	{"victim_backlog_end_cpu_seconds", func(r Row) string { return formatFloat(r.VictimBacklogEndCPUSeconds) }},
	{"victim_wait_cores", func(r Row) string { return formatFloat(r.VictimWaitCores) }},
	{"victim_satisfaction", func(r Row) string { return formatFloat(r.VictimSatisfaction()) }},
	{"hog_usage_cores", func(r Row) string { return formatFloat(r.HogUsageCores) }},
	{"hog_quota_cores", func(r Row) string { return formatOptional(r.HogQuotaCores) }},
	{"shared_capacity_cores", func(r Row) string { return formatFloat(r.SharedCapacityCores) }},
	{"victim_latency_p50_ms", func(r Row) string { return formatOptional(r.VictimLatencyP50Ms) }},
	{"victim_latency_p99_ms", func(r Row) string { return formatOptional(r.VictimLatencyP99Ms) }},
	{"victim_slo_p99_ms", func(r Row) string { return formatOptional(r.VictimSLOP99Ms) }},
	{"victim_quota_cores", func(r Row) string { return formatOptional(r.VictimQuotaCores) }},
}

// CSVHeader returns the column names of timeseries.csv, in order.
func CSVHeader() []string {
	header := make([]string, len(csvColumns))
	for i, c := range csvColumns {
		header[i] = c.header
	}
	return header
}

// WriteCSV writes timeseries.csv: a header row, then one row per Row in the
// order given. Numbers have six decimals and no exponent, so two runs that
// measured the same values write the same bytes. An unlimited hog quota, a
// tick without a measured request and a victim without an SLO are empty
// fields.
func WriteCSV(w io.Writer, rows []Row) error {
	out := csv.NewWriter(w)
	if err := out.Write(CSVHeader()); err != nil {
		return fmt.Errorf("write timeseries header: %w", err)
	}
	record := make([]string, len(csvColumns))
	for i, r := range rows {
		for j, c := range csvColumns {
			record[j] = c.value(r)
		}
		if err := out.Write(record); err != nil {
			return fmt.Errorf("write timeseries row %d (%s at %gs): %w", i, r.Phase, r.Seconds, err)
		}
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return fmt.Errorf("write timeseries: %w", err)
	}
	return nil
}

func formatFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 6, 64)
	if s == "-0.000000" {
		return "0.000000" // a rounding residue, not a sign worth a diff
	}
	return s
}

func formatOptional(v *float64) string {
	if v == nil {
		return ""
	}
	return formatFloat(*v)
}
