package report

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestWriteCSV(t *testing.T) {
	rows := handRows()[2:]
	rows[0].Phase = "p, with a comma"
	rows[1].VictimWaitCores = -1e-12 // a rounding residue
	rows[1].VictimSLOP99Ms = nil     // a victim without an SLO: an empty field
	rows[1].VictimQuotaCores = some(0.4)
	var out bytes.Buffer
	if err := WriteCSV(&out, rows); err != nil {
		t.Fatal(err)
	}
	want := "phase,control,seconds,interval_seconds,victim_demand_cores,victim_usage_cores,victim_served_cores," +
		"victim_backlog_start_cpu_seconds,victim_backlog_end_cpu_seconds,victim_wait_cores,victim_satisfaction," +
		"hog_usage_cores,hog_quota_cores,shared_capacity_cores,victim_latency_p50_ms,victim_latency_p99_ms,victim_slo_p99_ms,victim_quota_cores\n" +
		`"p, with a comma",none,1.500000,0.500000,0.800000,0.500000,0.500000,0.100000,0.250000,0.500000,0.500000,0.500000,,1.000000,30.000000,80.000000,20.000000,` + "\n" +
		"p,none,2.000000,0.500000,0.400000,0.900000,0.900000,0.250000,0.000000,0.000000,1.000000,0.050000,0.100000,1.000000,5.000000,20.000000,,0.400000\n"
	if out.String() != want {
		t.Errorf("timeseries.csv =\n%s\nwant\n%s", out.String(), want)
	}
	records, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 3 || len(records[0]) != len(CSVHeader()) || records[1][0] != "p, with a comma" {
		t.Errorf("the CSV does not read back: %q", records)
	}
}

// Two writes of equal rows are byte-identical: runs compare with cmp.
func TestWriteCSVIsStable(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteCSV(&a, handRows()); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&b, handRows()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) || a.Len() == 0 {
		t.Errorf("two writes differ:\n%s\n%s", a.String(), b.String())
	}
}
