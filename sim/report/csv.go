package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// column is one column of timeseries.csv: how a row writes it and how a
// row is read back from it. New measurements (the latency of a later mode,
// say) are one more entry in csvColumns.
type column struct {
	header string
	value  func(Row) string
	// read sets the row's field from the column's text; nil for a column
	// derived from others, which reading skips.
	read func(*Row, string) error
	// addedLater marks a column that files written before it lack; such a
	// file reads it as empty.
	addedLater bool
}

func textColumn(header string, field func(*Row) *string) column {
	return column{header: header,
		value: func(r Row) string { return *field(&r) },
		read:  func(r *Row, text string) error { *field(r) = text; return nil },
	}
}

func numberColumn(header string, field func(*Row) *float64) column {
	return column{header: header,
		value: func(r Row) string { return formatFloat(*field(&r)) },
		read: func(r *Row, text string) (err error) {
			*field(r), err = strconv.ParseFloat(text, 64)
			return err
		},
	}
}

// optionalColumn is a number that may be absent: an empty field.
func optionalColumn(header string, field func(*Row) **float64) column {
	return column{header: header,
		value: func(r Row) string { return formatOptional(*field(&r)) },
		read: func(r *Row, text string) error {
			if text == "" {
				*field(r) = nil
				return nil
			}
			v, err := strconv.ParseFloat(text, 64)
			*field(r) = &v
			return err
		},
	}
}

var csvColumns = []column{
	textColumn("phase", func(r *Row) *string { return &r.Phase }),
	textColumn("control", func(r *Row) *string { return (*string)(&r.Control) }),
	numberColumn("seconds", func(r *Row) *float64 { return &r.Seconds }),
	numberColumn("interval_seconds", func(r *Row) *float64 { return &r.IntervalSeconds }),
	numberColumn("victim_demand_cores", func(r *Row) *float64 { return &r.VictimDemandCores }),
	numberColumn("victim_usage_cores", func(r *Row) *float64 { return &r.VictimUsageCores }),
	numberColumn("victim_served_cores", func(r *Row) *float64 { return &r.VictimServedCores }),
	numberColumn("victim_backlog_start_cpu_seconds", func(r *Row) *float64 { return &r.VictimBacklogStartCPUSeconds }),
	numberColumn("victim_backlog_end_cpu_seconds", func(r *Row) *float64 { return &r.VictimBacklogEndCPUSeconds }),
	numberColumn("victim_wait_cores", func(r *Row) *float64 { return &r.VictimWaitCores }),
	{header: "victim_satisfaction", value: func(r Row) string { return formatFloat(r.VictimSatisfaction()) }},
	numberColumn("hog_usage_cores", func(r *Row) *float64 { return &r.HogUsageCores }),
	optionalColumn("hog_quota_cores", func(r *Row) **float64 { return &r.HogQuotaCores }),
	numberColumn("shared_capacity_cores", func(r *Row) *float64 { return &r.SharedCapacityCores }),
	optionalColumn("victim_latency_p50_ms", func(r *Row) **float64 { return &r.VictimLatencyP50Ms }),
	optionalColumn("victim_latency_p99_ms", func(r *Row) **float64 { return &r.VictimLatencyP99Ms }),
	optionalColumn("victim_slo_p99_ms", func(r *Row) **float64 { return &r.VictimSLOP99Ms }),
	withAddedLater(optionalColumn("victim_quota_cores", func(r *Row) **float64 { return &r.VictimQuotaCores })),
}

func withAddedLater(c column) column {
	c.addedLater = true
	return c
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

// MaxCSVRows bounds what ReadCSV accepts: a day of 250 ms ticks, far
// beyond any experiment.
const MaxCSVRows = 400_000

// ReadCSV reads timeseries.csv back into the rows WriteCSV wrote, finding
// the columns by their header, so that a run can be summarised again or
// fitted. name labels errors.
func ReadCSV(r io.Reader, name string) ([]Row, error) {
	records, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(records) < 1 || len(records) > MaxCSVRows+1 {
		return nil, fmt.Errorf("%s: %d lines, want a header and at most %d rows", name, len(records), MaxCSVRows)
	}
	index := map[string]int{}
	for i, header := range records[0] {
		index[header] = i
	}
	for _, c := range csvColumns {
		if _, ok := index[c.header]; !ok && c.read != nil && !c.addedLater {
			return nil, fmt.Errorf("%s: no column %s", name, c.header)
		}
	}
	rows := make([]Row, len(records)-1)
	for line, record := range records[1:] {
		if err := readRow(&rows[line], index, record); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", name, line+2, err)
		}
	}
	return rows, nil
}

func readRow(row *Row, index map[string]int, record []string) error {
	for _, c := range csvColumns {
		i, ok := index[c.header]
		if c.read == nil || !ok {
			continue
		}
		if i >= len(record) {
			return fmt.Errorf("no column %s", c.header)
		}
		if err := c.read(row, record[i]); err != nil {
			return fmt.Errorf("column %s: %w", c.header, err)
		}
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
