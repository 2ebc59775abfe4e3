package clusterbench

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDistribution(t *testing.T) {
	var latencies []time.Duration
	for i := 1; i <= 100; i++ {
		latencies = append(latencies, time.Duration(101-i)*time.Millisecond)
	}
	got := distribution(latencies)
	if got != (Latency{P50: 50, P99: 99, Max: 100}) {
		t.Fatalf("distribution of 1..100 ms: %+v, want p50 50, p99 99, max 100", got)
	}
	if got := distribution(nil); got != (Latency{}) {
		t.Fatalf("distribution of nothing: %+v", got)
	}
}

// The plot is well-formed SVG with a point per result in each panel.
func TestWritePlot(t *testing.T) {
	results := []Result{
		{Nodes: 100, PerNodeEtcdReadBytesPerSecond: 2100, DecisionLatencyMs: Latency{P99: 40}},
		{Nodes: 10, PerNodeEtcdReadBytesPerSecond: 1800, DecisionLatencyMs: Latency{P99: 20}},
	}
	var out bytes.Buffer
	if err := WritePlot(&out, results); err != nil {
		t.Fatal(err)
	}
	decoder := xml.NewDecoder(&out)
	circles := 0
	for {
		token, err := decoder.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if start, ok := token.(xml.StartElement); ok && start.Name.Local == "circle" {
			circles++
		}
	}
	if circles != 4 {
		t.Fatalf("%d points, want 2 results × 2 panels", circles)
	}
	if err := WritePlot(&out, nil); err == nil || !strings.Contains(err.Error(), "no results") {
		t.Fatalf("no results: %v", err)
	}
}
