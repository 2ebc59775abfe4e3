package experiment

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sluice-io/sluice/sim/report"
)

func TestReadTimeseriesReadsWhatWriteCSVWrote(t *testing.T) {
	quota, p50, p99, slo := 0.2, 1.5, 20.25, 20.0
	rows := []report.Row{
		{Phase: "alone", Control: "none", Seconds: 0.25, IntervalSeconds: 0.25, VictimDemandCores: 0.5,
			VictimUsageCores: 0.5, VictimServedCores: 0.5, SharedCapacityCores: 1},
		{Phase: "static-split", Control: "static-split", Seconds: 0.5, IntervalSeconds: 0.25, VictimDemandCores: 0.8,
			VictimUsageCores: 0.75, VictimServedCores: 0.7, VictimBacklogStartCPUSeconds: 0.01, VictimBacklogEndCPUSeconds: 0.035,
			VictimWaitCores: 0.25, HogUsageCores: 0.2, HogQuotaCores: &quota, SharedCapacityCores: 1,
			VictimLatencyP50Ms: &p50, VictimLatencyP99Ms: &p99, VictimSLOP99Ms: &slo, VictimQuotaCores: &quota},
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, TimeseriesFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := report.WriteCSV(f, rows); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadTimeseries(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, rows)
	}
}
