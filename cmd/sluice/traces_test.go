package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

func TestLatencyOfReadsTheAppsContainersAndTraces(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	view := state.NewView("n1")
	view.Statuses["web"] = state.AppStatus{App: "web", Node: "n1", Phase: state.Ready}
	view.Observations["n1"] = state.Observation{Node: "n1", Time: at,
		Containers: []state.ContainerObservation{
			{ID: "web/front", App: "web", Latency: &state.LatencyStats{Count: 10, P99Ms: 12}},
			{ID: "other/x", App: "other", Latency: &state.LatencyStats{Count: 3}},
			{ID: "web/db", App: "web"},
		},
		Apps: map[string]state.AppObservation{"web": {Latency: &state.LatencyStats{Count: 7, P99Ms: 30}}},
	}
	got, err := latencyOf(&view, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Containers) != 2 || got.Containers[0].ID != "web/front" || got.Containers[0].Latency.P99Ms != 12 ||
		got.Containers[1].Latency != nil || got.EndToEnd == nil || got.EndToEnd.P99Ms != 30 || !got.Time.Equal(at) {
		t.Fatalf("latencyOf = %+v", got)
	}
	if _, err := latencyOf(&view, "missing"); err == nil || !strings.Contains(err.Error(), "no status") {
		t.Errorf("missing app: err = %v", err)
	}
}

func TestRecentTracesAsksTheAgent(t *testing.T) {
	want := []traces.TraceSummary{{TraceID: "ab", App: "web", DurationMs: 4.5, Spans: 2}}
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != traces.RecentPath || r.URL.Query().Get("app") != "web" || r.URL.Query().Get("limit") != "3" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(want)
	}))
	defer agent.Close()
	got, errText := recentTraces(context.Background(), agent.URL, "web", 3)
	if errText != "" || len(got) != 1 || got[0].TraceID != "ab" || got[0].Spans != 2 {
		t.Fatalf("recentTraces = %+v, %q", got, errText)
	}
	agent.Close()
	if _, errText := recentTraces(context.Background(), agent.URL, "web", 3); !strings.Contains(errText, "does not answer") {
		t.Errorf("a stopped agent gave %q", errText)
	}
}
