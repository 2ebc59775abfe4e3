package sensors

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-io/sluice/state"
)

// PrometheusExporter publishes observations as metrics. Rates become
// counters again (rate × interval added up), so a scraper can take its
// own rates over any window; settings and sizes are gauges. Series of a
// container that left the observation are deleted.
type PrometheusExporter struct {
	usage, wait, throttled, rx, tx *prometheus.CounterVec
	memory, quota, shares, satisf  *prometheus.GaugeVec
	hostCPU, hostRx, hostTx        prometheus.Counter
	hostRead, hostWrite            prometheus.Counter
	hostMemUsed, hostMemTotal      prometheus.Gauge
	seen                           map[string][]string
}

var containerLabels = []string{"container", "app", "class"}

// NewPrometheusExporter registers the observation metrics on reg.
func NewPrometheusExporter(reg prometheus.Registerer) *PrometheusExporter {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, containerLabels)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, containerLabels)
	}
	p := &PrometheusExporter{
		usage:        counter("sluice_container_cpu_usage_seconds_total", "CPU time the container used."),
		wait:         counter("sluice_container_run_queue_wait_seconds_total", "Time the container's threads were runnable but waited for a CPU."),
		throttled:    counter("sluice_container_cpu_throttled_seconds_total", "Time the CFS quota held the container back."),
		rx:           counter("sluice_container_network_receive_bytes_total", "Bytes the container received."),
		tx:           counter("sluice_container_network_transmit_bytes_total", "Bytes the container sent."),
		memory:       gauge("sluice_container_memory_usage_bytes", "Memory charged to the container's cgroup."),
		quota:        gauge("sluice_container_cpu_quota_cores", "CPU quota in force; absent when unlimited."),
		shares:       gauge("sluice_container_cpu_shares", "CPU weight in force, in cgroup v1 shares."),
		satisf:       gauge("sluice_container_cpu_satisfaction_ratio", "Share of the time the container wanted a CPU that it had one."),
		hostCPU:      prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_host_cpu_usage_seconds_total", Help: "CPU time the node was busy."}),
		hostRx:       prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_host_network_receive_bytes_total", Help: "Bytes the node received, loopback excluded."}),
		hostTx:       prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_host_network_transmit_bytes_total", Help: "Bytes the node sent, loopback excluded."}),
		hostRead:     prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_host_disk_read_bytes_total", Help: "Bytes read from the node's disks."}),
		hostWrite:    prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_host_disk_written_bytes_total", Help: "Bytes written to the node's disks."}),
		hostMemUsed:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_host_memory_used_bytes", Help: "Memory in use: total minus available."}),
		hostMemTotal: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_host_memory_total_bytes", Help: "The node's memory."}),
		seen:         map[string][]string{},
	}
	reg.MustRegister(p.usage, p.wait, p.throttled, p.rx, p.tx, p.memory, p.quota, p.shares, p.satisf,
		p.hostCPU, p.hostRx, p.hostTx, p.hostRead, p.hostWrite, p.hostMemUsed, p.hostMemTotal)
	return p
}

// Export updates the metrics from one observation; it never fails.
func (p *PrometheusExporter) Export(_ context.Context, obs state.Observation) error {
	seconds := obs.IntervalSeconds
	p.hostCPU.Add(obs.Host.CPUUsageCores * seconds)
	p.hostRx.Add(float64(obs.Host.NetRxBytes))
	p.hostTx.Add(float64(obs.Host.NetTxBytes))
	p.hostRead.Add(float64(obs.Host.DiskReadBytes))
	p.hostWrite.Add(float64(obs.Host.DiskWriteBytes))
	p.hostMemUsed.Set(float64(obs.Host.MemoryUsedBytes))
	p.hostMemTotal.Set(float64(obs.Host.MemoryTotalBytes))

	current := map[string][]string{}
	for _, c := range obs.Containers {
		labels := []string{c.ID, c.App, string(c.Class)}
		if old, ok := p.seen[c.ID]; ok && !equalStrings(old, labels) {
			p.delete(old)
		}
		current[c.ID] = labels
		p.usage.WithLabelValues(labels...).Add(c.CPUUsageCores * seconds)
		p.wait.WithLabelValues(labels...).Add(c.RunQueueWaitCores * seconds)
		p.throttled.WithLabelValues(labels...).Add(c.ThrottledSeconds)
		p.rx.WithLabelValues(labels...).Add(float64(c.NetRxBytes))
		p.tx.WithLabelValues(labels...).Add(float64(c.NetTxBytes))
		p.memory.WithLabelValues(labels...).Set(float64(c.MemoryBytes))
		p.shares.WithLabelValues(labels...).Set(float64(c.CPUShares))
		p.satisf.WithLabelValues(labels...).Set(c.CPUSatisfaction())
		if c.CPUQuotaCores != nil {
			p.quota.WithLabelValues(labels...).Set(*c.CPUQuotaCores)
		} else {
			p.quota.DeleteLabelValues(labels...)
		}
	}
	for id, labels := range p.seen {
		if _, ok := current[id]; !ok {
			p.delete(labels)
		}
	}
	p.seen = current
	return nil
}

func (p *PrometheusExporter) delete(labels []string) {
	for _, vec := range []*prometheus.MetricVec{p.usage.MetricVec, p.wait.MetricVec, p.throttled.MetricVec, p.rx.MetricVec,
		p.tx.MetricVec, p.memory.MetricVec, p.quota.MetricVec, p.shares.MetricVec, p.satisf.MetricVec} {
		vec.DeleteLabelValues(labels...)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
