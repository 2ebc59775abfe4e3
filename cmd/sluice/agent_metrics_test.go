package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/sluice-io/sluice/state"
)

// The agent's /metrics, as a Prometheus server scrapes it from the real
// binary on a Docker node, passes the linter `promtool check metrics`
// runs (promlint) and carries the loop's metrics.
func TestDockerAgentMetricsPassTheLinter(t *testing.T) {
	n := newDockerNode(t)
	_, metricsAddr := startAgentProcess(t, n, sluiceBinary(t), true)
	n.apply(idleSpec("lint"))
	n.waitPhase("lint", state.Ready)

	families := []string{"sluice_app_phase", "sluice_reconcile_actions_total", "sluice_container_cpu_usage_seconds_total", "sluice_policy_error_active"}
	var text string
	waitUntil(t, time.Minute, "/metrics to carry the loop's and the container's metrics", func() bool {
		text = scrape(t, metricsAddr)
		for _, family := range families {
			if !strings.Contains(text, "\n"+family) {
				return false
			}
		}
		return true
	})
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
