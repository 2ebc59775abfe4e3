package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// spansPerSecond is the span rate whose cost BenchmarkAgentSpans reports.
const spansPerSecond = 1000

// BenchmarkAgentSpans measures what 1,000 spans/s cost the agent: the real
// binary, its trace receivers on the Docker bridge, and one container whose
// GUID the spans carry as their service name, so that every span is bound
// to it, counted and summarised as the container's own would be. The spans
// come from the OpenTelemetry SDK in the benchmark's process, over OTLP
// gRPC to the endpoint the agent gave the container. Side by side on the
// same agent: 30 s without spans, then 30 s with them; it reports the CPU
// of each in percent of one core, their difference, and the peak resident
// memory of each. One measurement, whatever b.N.
func BenchmarkAgentSpans(b *testing.B) {
	n := newDockerNode(b)
	agent, metrics := startAgentProcess(b, n, sluiceBinary(b), true)
	n.apply(idleSpec("traced"))
	ctr := n.waitPhase("traced", state.Ready).Containers[0]
	endpoint := n.containerEnv(ctr.RuntimeID)[traces.OTLPEndpointEnv]
	if endpoint == "" {
		b.Fatalf("the agent gave the container no %s", traces.OTLPEndpointEnv)
	}
	time.Sleep(idleWarmUp)
	quietCPU, quietRSS := measureProcess(b, agent.Process.Pid, idleStretch)

	before := spansReceived(b, metrics)
	sender := startSpanSender(b, endpoint, ctr.GUID, spansPerSecond)
	time.Sleep(2 * time.Second) // the exporter connects and settles
	loadedCPU, loadedRSS := measureProcess(b, agent.Process.Pid, idleStretch)
	sent := sender.stop()
	received := spansReceived(b, metrics) - before
	if received < 0.99*float64(sent) {
		b.Fatalf("the agent received %.0f of %d spans sent", received, sent)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(quietCPU, "quiet-cpu-%")
	b.ReportMetric(loadedCPU, "spans-cpu-%")
	b.ReportMetric(loadedCPU-quietCPU, "extra-cpu-%")
	b.ReportMetric(quietRSS, "quiet-rss-MiB")
	b.ReportMetric(loadedRSS, "spans-rss-MiB")
	b.ReportMetric(received, "spans")
}

// spanSender sends server spans at a steady rate through the
// OpenTelemetry SDK until stopped.
type spanSender struct {
	provider *sdktrace.TracerProvider
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	sent     int
}

// senderTick spreads the rate over the second, as requests would be.
const senderTick = 10 * time.Millisecond

func startSpanSender(tb testing.TB, endpoint, service string, perSecond int) *spanSender {
	tb.Helper()
	exporter, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpointURL(endpoint))
	if err != nil {
		tb.Fatal(err)
	}
	provider := sdktrace.NewTracerProvider(
		// As sineload exports: every 100 ms, so no span waits long.
		sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(100*time.Millisecond), sdktrace.WithMaxQueueSize(8192)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	)
	ctx, cancel := context.WithCancel(context.Background())
	s := &spanSender{provider: provider, cancel: cancel}
	tracer := provider.Tracer("bench")
	perTick := perSecond * int(senderTick) / int(time.Second)
	s.wg.Go(func() {
		state.Every(ctx, senderTick, func() {
			for range perTick {
				_, span := tracer.Start(ctx, "request", trace.WithSpanKind(trace.SpanKindServer))
				span.End()
				s.sent++
			}
		})
	})
	tb.Cleanup(func() { s.stop() })
	return s
}

// stop ends the sending, flushes what is queued and returns how many spans
// were sent. It may be called more than once.
func (s *spanSender) stop() int {
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.provider.Shutdown(ctx)
	return s.sent
}

// spansReceived sums the agent's sluice_traces_spans_received_total over
// its receivers, from its metrics endpoint.
func spansReceived(tb testing.TB, metricsAddr string) float64 {
	tb.Helper()
	return counterTotal(scrapeMetrics(tb, metricsAddr)[spansReceivedMetric])
}

// scrapeMetrics reads the agent's metrics endpoint, by family name.
func scrapeMetrics(tb testing.TB, metricsAddr string) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("metrics of %s: %v", metricsAddr, err)
	}
	return families
}

// spansReceivedMetric counts the spans a collector decoded, by receiver.
const spansReceivedMetric = "sluice_traces_spans_received_total"

// counterTotal sums a counter family over its labels; 0 for none.
func counterTotal(family *dto.MetricFamily) float64 {
	var total float64
	for _, m := range family.GetMetric() {
		total += m.GetCounter().GetValue()
	}
	return total
}
