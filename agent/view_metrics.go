package agent

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/state"
)

// phases are every lifecycle phase, so that an app's phase gauge shows a 0
// for the phases it is not in and a query can sum them across apps.
var phases = []state.Phase{state.Pending, state.Ready, state.Terminating, state.Terminated, state.Failed, state.Lost}

// mbitToBytesPerSecond converts a decided bandwidth to the base unit.
const mbitToBytesPerSecond = 1e6 / 8

var (
	appPhaseDesc = prometheus.NewDesc("sluice_app_phase",
		"1 for the lifecycle phase each of the node's apps is in, 0 for the others.", []string{"app", "phase"}, nil)
	decidedQuotaDesc = prometheus.NewDesc("sluice_decision_cpu_quota_cores",
		"CPU quota the decision in force sets per container; absent when it sets none.", containerLabels, nil)
	decidedSharesDesc = prometheus.NewDesc("sluice_decision_cpu_shares",
		"CPU weight the decision in force sets per container, in cgroup v1 shares; absent when it leaves it alone.", containerLabels, nil)
	decidedBandwidthDesc = prometheus.NewDesc("sluice_decision_network_limit_bytes_per_second",
		"Egress limit the decision in force sets per container; absent when it sets none.", containerLabels, nil)
	policyErrorDesc = prometheus.NewDesc("sluice_policy_error_active",
		"1 while the node's policy error key holds an error (a rejected bundle or decision), else 0.", nil, nil)
	bundleDesc = prometheus.NewDesc("sluice_policy_bundle_info",
		"1, labelled with the digest of the bundle that made the decision in force.", []string{"digest"}, nil)
	latencyP50Desc = prometheus.NewDesc("sluice_container_latency_p50_seconds",
		"Median latency of the requests the container served over the last interval; absent when it served none.", containerLabels, nil)
	latencyP99Desc = prometheus.NewDesc("sluice_container_latency_p99_seconds",
		"99th percentile latency of the requests the container served over the last interval; absent when it served none.", containerLabels, nil)
	sloDesc = prometheus.NewDesc("sluice_container_slo_latency_p99_seconds",
		"The latency objective of the container's spec, on the 99th percentile.", containerLabels, nil)
)

var containerLabels = []string{"container", "app"}

// viewCollector reads the metrics that the agent's view already holds
// (phases, the decision, the policy error) when Prometheus scrapes: a tick
// pays nothing for them.
type viewCollector struct {
	node string
	view atomic.Pointer[func() *state.View]
}

// follow makes the collector read node's view from view.
func (c *viewCollector) follow(node string, view func() *state.View) {
	c.node = node
	c.view.Store(&view)
}

func (c *viewCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{appPhaseDesc, decidedQuotaDesc, decidedSharesDesc, decidedBandwidthDesc, policyErrorDesc, bundleDesc,
		latencyP50Desc, latencyP99Desc, sloDesc} {
		ch <- d
	}
}

func (c *viewCollector) Collect(ch chan<- prometheus.Metric) {
	read := c.view.Load()
	if read == nil {
		return
	}
	view := (*read)()
	if view == nil {
		return
	}
	for _, app := range state.SortedKeys(view.Statuses) {
		current := view.Statuses[app].Phase
		for _, phase := range phases {
			ch <- prometheus.MustNewConstMetric(appPhaseDesc, prometheus.GaugeValue, boolValue(phase == current), app, string(phase))
		}
	}
	collectLatency(ch, view, c.node)
	_, failing := view.PolicyErrors[c.node]
	ch <- prometheus.MustNewConstMetric(policyErrorDesc, prometheus.GaugeValue, boolValue(failing))
	decision, ok := view.Decisions[c.node]
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(bundleDesc, prometheus.GaugeValue, 1, decision.BundleDigest)
	for _, id := range state.SortedKeys(decision.Containers) {
		collectDecided(ch, id, decision.Containers[id])
	}
}

// collectLatency sends the latency the node's containers served over the
// latest observation, and their objectives.
func collectLatency(ch chan<- prometheus.Metric, view *state.View, node string) {
	for _, c := range view.Observations[node].Containers {
		if l := c.Latency; l != nil && l.Count > 0 {
			ch <- prometheus.MustNewConstMetric(latencyP50Desc, prometheus.GaugeValue, l.P50Ms/1000, c.ID, c.App)
			ch <- prometheus.MustNewConstMetric(latencyP99Desc, prometheus.GaugeValue, l.P99Ms/1000, c.ID, c.App)
		}
	}
	for _, app := range state.SortedKeys(view.Apps) {
		for _, c := range view.Apps[app].Containers {
			if c.SLO != nil {
				ch <- prometheus.MustNewConstMetric(sloDesc, prometheus.GaugeValue, c.SLO.LatencyP99Ms/1000, state.ContainerID(app, c.Name), app)
			}
		}
	}
}

// collectDecided sends the settings decided for one container.
func collectDecided(ch chan<- prometheus.Metric, id string, d state.ContainerDecision) {
	labels := []string{id, state.AppOf(id)}
	if d.CPUQuotaCores != nil {
		ch <- prometheus.MustNewConstMetric(decidedQuotaDesc, prometheus.GaugeValue, *d.CPUQuotaCores, labels...)
	}
	if d.CPUShares != nil {
		ch <- prometheus.MustNewConstMetric(decidedSharesDesc, prometheus.GaugeValue, float64(*d.CPUShares), labels...)
	}
	if d.NetMbit != nil {
		ch <- prometheus.MustNewConstMetric(decidedBandwidthDesc, prometheus.GaugeValue, *d.NetMbit*mbitToBytesPerSecond, labels...)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
