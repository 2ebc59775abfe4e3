package sensors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sensors' own health: how long each collector took and
// whether it succeeded, and what happened to the observations and the
// heartbeat. One value serves a Sensor, a StoreWriter, a Heartbeat and a
// LostNodeWatcher on the same node.
type Metrics struct {
	scrapeDuration  *prometheus.GaugeVec
	scrapeSuccess   *prometheus.GaugeVec
	containerErrors prometheus.Counter
	written         prometheus.Counter
	dropped         prometheus.Counter
	buffered        prometheus.Gauge
	writeFailures   prometheus.Counter
	registrations   prometheus.Counter
	keepAliveFails  prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg; a nil reg
// leaves them unregistered (they still count).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		scrapeDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_sensor_scrape_duration_seconds",
			Help: "How long the sensor's last collection took.",
		}, []string{"sensor"}),
		scrapeSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_sensor_scrape_success",
			Help: "Whether the sensor's last collection succeeded (1) or not (0).",
		}, []string{"sensor"}),
		containerErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_sensor_container_errors_total",
			Help: "Containers left out of an observation because they could not be read.",
		}),
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_sensor_observations_written_total",
			Help: "Observations written to the store.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_sensor_observations_dropped_total",
			Help: "Observations dropped because the buffer for an unreachable store was full.",
		}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_sensor_observations_buffered",
			Help: "Observations waiting for the store to come back.",
		}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_sensor_store_write_failures_total",
			Help: "Failed attempts to write an observation to the store.",
		}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_heartbeat_registrations_total",
			Help: "Times the node wrote its registration on a new lease.",
		}),
		keepAliveFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_heartbeat_keepalive_failures_total",
			Help: "Lease renewals that failed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.scrapeDuration, m.scrapeSuccess, m.containerErrors, m.written, m.dropped,
			m.buffered, m.writeFailures, m.registrations, m.keepAliveFails)
	}
	return m
}

// scraped records one collection of a sensor.
func (m *Metrics) scraped(sensor string, took time.Duration, err error) {
	m.scrapeDuration.WithLabelValues(sensor).Set(took.Seconds())
	success := 1.0
	if err != nil {
		success = 0
	}
	m.scrapeSuccess.WithLabelValues(sensor).Set(success)
}
