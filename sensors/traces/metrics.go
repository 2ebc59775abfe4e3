package traces

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Receiver names, as the metrics label them.
const (
	ReceiverOTLPGRPC      = "otlp_grpc"
	ReceiverOTLPHTTP      = "otlp_http"
	ReceiverJaegerCompact = "jaeger_compact"
	ReceiverJaegerBinary  = "jaeger_binary"
)

// Reasons a span is dropped, as sluice_traces_spans_dropped_total labels
// them. Every span received is either kept by the core or counted under
// exactly one of these.
const (
	// DropQueueFull: the queue to the core was full.
	DropQueueFull = "queue_full"
	// DropInvalid: the span's ids or times are invalid.
	DropInvalid = "invalid"
	// DropUnknownService: its service name is no container's GUID.
	DropUnknownService = "unknown_service"
)

// Reasons a span is not forwarded, under
// sluice_traces_forward_spans_dropped_total.
const (
	ForwardDropQueueFull = "queue_full"
	ForwardDropFailed    = "export_failed"
)

type metrics struct {
	received       *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	decodeErrors   *prometheus.CounterVec
	queued         prometheus.GaugeFunc
	openTraces     prometheus.Gauge
	tracesDone     prometheus.Counter
	tracesEvicted  prometheus.Counter
	forwarded      prometheus.Counter
	forwardDropped *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) (*metrics, error) {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_traces_spans_received_total",
			Help: "Spans decoded from the wire, by receiver, valid or not.",
		}, []string{"receiver"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_traces_spans_dropped_total",
			Help: "Received spans that no latency account holds, by reason.",
		}, []string{"reason"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_traces_decode_errors_total",
			Help: "Requests or datagrams rejected as malformed, by receiver.",
		}, []string{"receiver"}),
		queued: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_traces_queue_spans",
			Help: "Spans waiting in the queue between the receivers and the core.",
		}, queueLen),
		openTraces: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_traces_open_traces",
			Help: "Traces waiting for late spans before their end-to-end latency counts.",
		}),
		tracesDone: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_traces_traces_completed_total",
			Help: "Traces whose end-to-end latency was counted.",
		}),
		tracesEvicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_traces_traces_evicted_total",
			Help: "Traces closed before their wait for late spans ended, to keep the open traces within bounds.",
		}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_traces_forward_spans_total",
			Help: "Spans exported to the forwarding endpoint.",
		}),
		forwardDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_traces_forward_spans_dropped_total",
			Help: "Spans that were not forwarded, by reason.",
		}, []string{"reason"}),
	}
	// Labels known up front are exported at zero, so a rate() over them
	// works before the first drop.
	for _, r := range []string{ReceiverOTLPGRPC, ReceiverOTLPHTTP, ReceiverJaegerCompact, ReceiverJaegerBinary} {
		m.received.WithLabelValues(r)
		m.decodeErrors.WithLabelValues(r)
	}
	for _, r := range []string{DropQueueFull, DropInvalid, DropUnknownService} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{ForwardDropQueueFull, ForwardDropFailed} {
		m.forwardDropped.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.received, m.dropped, m.decodeErrors, m.queued,
		m.openTraces, m.tracesDone, m.tracesEvicted, m.forwarded, m.forwardDropped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register trace metrics: %w", err)
		}
	}
	return m, nil
}
