package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/state"
)

// A running agent exports the loop's metrics: its apps' phases and
// transitions, the reconciler's actions, the decided settings per
// container, the policy's error state and the follower's lag; all of them
// pass the Prometheus linter.
func TestRunExportsTheLoopsMetrics(t *testing.T) {
	store := state.NewMemoryStore()
	metrics := agent.NewMetrics()
	a, _ := newSimAgent(t, store, agent.WithMetrics(metrics))
	putFile(t, store, state.Keys.App(node, "victim"), "../examples/apps/shield-sine-victim.json")
	putFile(t, store, state.Keys.App(node, "hog"), "../examples/apps/shield-sine-hog.json")
	families := gatherAfterRunning(t, a, metrics, 2*time.Second)

	if v := value(families, "sluice_app_phase", "app=victim", "phase=ready"); v != 1 {
		t.Errorf("sluice_app_phase{app=victim,phase=ready} = %g, want 1", v)
	}
	if v := value(families, "sluice_app_phase", "app=victim", "phase=pending"); v != 0 {
		t.Errorf("sluice_app_phase{app=victim,phase=pending} = %g, want 0", v)
	}
	if v := value(families, "sluice_app_transitions_total", "from=pending", "to=ready"); v != 2 {
		t.Errorf("sluice_app_transitions_total{from=pending,to=ready} = %g, want 2 (victim and hog)", v)
	}
	if v := value(families, "sluice_reconcile_actions_total", "kind=create"); v != 2 {
		t.Errorf("sluice_reconcile_actions_total{kind=create} = %g, want 2", v)
	}
	if v := value(families, "sluice_decision_cpu_shares", "container=hog/cpuhog", "app=hog"); !(v > 0) {
		t.Errorf("sluice_decision_cpu_shares{container=hog/cpuhog} = %g, want the hog's decided weight", v)
	}
	if v := value(families, "sluice_policy_error_active"); v != 0 {
		t.Errorf("sluice_policy_error_active = %g with a good bundle, want 0", v)
	}
	if lag := families["sluice_follower_lag_seconds"]; lag == nil || lag.Metric[0].Histogram.GetSampleCount() == 0 {
		t.Error("sluice_follower_lag_seconds observed nothing")
	}
	for _, name := range []string{"sluice_reconcile_action_errors_total", "sluice_policy_bundle_info", "sluice_policy_step_duration_seconds"} {
		if families[name] == nil {
			t.Errorf("%s is not exported", name)
		}
	}
	problems, err := testutil.GatherAndLint(metrics.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// gatherAfterRunning runs a for d, gathers its metrics and stops it.
func gatherAfterRunning(t *testing.T, a *agent.Agent, metrics *agent.Metrics, d time.Duration) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(d)
	families := gather(t, metrics)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return families
}

func gather(t *testing.T, metrics *agent.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
	}
	return byName
}

// value is the value of the series of family name whose labels include
// every "name=value" of labels; -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	family := families[name]
	if family == nil {
		return -1
	}
	for _, m := range family.Metric {
		if hasLabels(m, labels) {
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	return -1
}

func hasLabels(m *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, l := range m.Label {
		have[l.GetName()] = l.GetValue()
	}
	for _, want := range labels {
		name, v, _ := strings.Cut(want, "=")
		if have[name] != v {
			return false
		}
	}
	return true
}
