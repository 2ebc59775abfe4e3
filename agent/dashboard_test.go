package agent_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/state"
)

// dashboard is the Grafana dashboard over the agent's metrics.
const dashboard = "../docs/grafana/sluice.json"

// grafanaVariables stand in for the dashboard's variables, so that each
// query parses as plain PromQL.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")

// Every query of the Grafana dashboard parses as PromQL and names only
// metrics that a running agent exports: a renamed metric breaks this test,
// not the dashboard. The agent runs without a policy, on a decision and a
// policy error written here, so that every kind of series exists.
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	exported := exportedFamilies(t)
	queries := dashboardQueries(t)
	promql := parser.NewParser(parser.Options{})
	if len(queries) < 10 {
		t.Fatalf("%d queries in %s, want the dashboard's panels", len(queries), dashboard)
	}
	for _, query := range queries {
		expr, err := promql.ParseExpr(grafanaVariables.Replace(query))
		if err != nil {
			t.Errorf("%q: %v", query, err)
			continue
		}
		for _, name := range metricNames(expr) {
			if !exported[name] {
				t.Errorf("%q names %s, which the agent does not export", query, name)
			}
		}
	}
}

// exportedFamilies runs an agent until every kind of series exists and
// returns the names it exports, a histogram's series included.
func exportedFamilies(t *testing.T) map[string]bool {
	t.Helper()
	store := state.NewMemoryStore()
	metrics := agent.NewMetrics()
	a, _ := newSimAgent(t, store, agent.WithMetrics(metrics), agent.WithoutPolicy())
	putFile(t, store, state.Keys.App(node, "victim"), "../examples/apps/shield-slo-victim.json")
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	put(t, store, state.Keys.Decision(node), []byte(`{"node":"n1","revision":1,"containers":{"hog/cpuhog":{"cpu_quota_cores":0.5,"cpu_shares":2,"net_mbit":10}}}`))
	put(t, store, state.Keys.PolicyError(node), []byte(`{"node":"n1","revision":1,"stage":"compile","error":"written by the test"}`))
	families := gatherAfterRunning(t, a, metrics, 2*time.Second)
	exported := map[string]bool{}
	for name, family := range families {
		exported[name] = true
		if family.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				exported[name+suffix] = true
			}
		}
	}
	return exported
}

// dashboardQueries are the expr fields of every panel's targets.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	var board struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &board); err != nil {
		t.Fatalf("%s: %v", dashboard, err)
	}
	var queries []string
	for _, panel := range board.Panels {
		for _, target := range panel.Targets {
			queries = append(queries, target.Expr)
		}
	}
	return queries
}

// metricNames are the metric names expr selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		selector, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := selector.Name
		for _, m := range selector.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		names = append(names, name)
		return nil
	})
	return names
}
