package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// tracingConfig says where sineload sends a server span for every unit it
// serves. An empty endpoint turns tracing off.
type tracingConfig struct {
	// endpoint is the agent's OTLP gRPC receiver: host:port, or a URL
	// (http:// for plaintext, https:// for TLS) as in
	// OTEL_EXPORTER_OTLP_ENDPOINT.
	endpoint string
	// service is the service name on every span: the container's GUID,
	// which is how the agent knows whose spans they are.
	service string
}

// withEnv fills what the flags left unset from the environment the
// agent gives the container: OTEL_EXPORTER_OTLP_ENDPOINT and SLUICE_GUID.
func (t tracingConfig) withEnv(getenv func(string) string) tracingConfig {
	if t.endpoint == "" {
		t.endpoint = getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if t.service == "" {
		t.service = getenv("SLUICE_GUID")
	}
	if t.service == "" {
		t.service = "sineload"
	}
	return t
}

// The SDK batches spans so that the cost per unit stays a small fraction
// of the unit's own millisecond: a span is handed to a queue, and a
// background goroutine exports a batch of up to maxExportBatch spans at
// least every exportInterval. The interval is shorter than the shortest
// control tick (250 ms in the experiments) because the agent counts a
// span's latency in the tick its span arrives: with the SDK's default of
// 5 s, or even 500 ms, most ticks would see no spans at all and a starved
// victim would look healthy in them. Ten small exports a second cost
// well under 1 % of a core.
const (
	exportInterval = 100 * time.Millisecond
	maxExportBatch = 512
	maxSpanQueue   = 8192
)

// tracer turns served units into server spans.
type tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	sched    schedule
	start    time.Time
}

func newTracer(ctx context.Context, cfg tracingConfig, sched schedule, start time.Time) (*tracer, error) {
	exporter, err := otlptracegrpc.New(ctx, endpointOption(cfg.endpoint)...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", cfg.endpoint, err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter,
			sdktrace.WithBatchTimeout(exportInterval),
			sdktrace.WithMaxExportBatchSize(maxExportBatch),
			sdktrace.WithMaxQueueSize(maxSpanQueue)),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.service))),
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	)
	return &tracer{provider: provider, tracer: provider.Tracer("sineload"), sched: sched, start: start}, nil
}

func endpointOption(endpoint string) []otlptracegrpc.Option {
	if strings.Contains(endpoint, "://") {
		return []otlptracegrpc.Option{otlptracegrpc.WithEndpointURL(endpoint)}
	}
	return []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()}
}

// served is the server's onServed hook. The span runs from the unit's
// arrival, not from when a worker took it: a request that waited in the
// backlog waited for the service, and that wait is the latency a starved
// service shows. The time spent serving it is an attribute.
func (t *tracer) served(unit int64, started, finished time.Duration) {
	arrived := t.sched.arrival(unit, started)
	_, span := t.tracer.Start(context.Background(), "work unit",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t.start.Add(arrived)),
		trace.WithAttributes(
			attribute.Int64("sineload.unit", unit),
			attribute.Float64("sineload.queue_ms", msBetween(arrived, started)),
			attribute.Float64("sineload.service_ms", msBetween(started, finished)),
		))
	span.End(trace.WithTimestamp(t.start.Add(finished)))
}

func msBetween(from, to time.Duration) float64 { return float64(to-from) / float64(time.Millisecond) }

// shutdown exports the spans still queued.
func (t *tracer) shutdown(ctx context.Context) error {
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}
