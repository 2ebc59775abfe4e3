package traces

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-io/sluice/state"
)

// emitWithSDK sends one trace through exporter, as an instrumented
// frontend would: a 12 ms server span that failed, with a 5 ms client
// span inside it. It returns the trace id.
func emitWithSDK(t *testing.T, exporter sdktrace.SpanExporter) trace.TraceID {
	t.Helper()
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "frontend-a1b2"))),
	)
	tracer := tp.Tracer("sluice-test")
	start := time.Now()
	ctx, root := tracer.Start(ctx, "GET /cart", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	_, call := tracer.Start(ctx, "call backend", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(time.Millisecond)))
	call.End(trace.WithTimestamp(start.Add(6 * time.Millisecond)))
	root.SetStatus(codes.Error, "out of stock")
	root.End(trace.WithTimestamp(start.Add(12 * time.Millisecond)))
	// Shutdown exports synchronously: once it returns, the receiver has
	// answered, and so has queued the spans.
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
	return root.SpanContext().TraceID()
}

func checkSDKTrace(t *testing.T, c *runningCollector, receiver string, id trace.TraceID) {
	t.Helper()
	if got := c.received(receiver); got != 2 {
		t.Errorf("%s received %g spans, want 2", receiver, got)
	}
	snap := c.Snapshot()
	want := state.LatencyStats{Count: 1, Errors: 1, P50Ms: 12, P95Ms: 12, P99Ms: 12, MaxMs: 12}
	if got := snap.Containers["shop/frontend"]; got != want {
		t.Errorf("frontend latency = %+v, want %+v", got, want)
	}
	if got := snap.Apps["shop"]; got != want {
		t.Errorf("shop end-to-end = %+v, want %+v", got, want)
	}
	recent := c.RecentTraces("shop", 1)
	if len(recent) != 1 || recent[0].TraceID != id.String() || recent[0].Spans != 2 || !recent[0].Complete || recent[0].Root != "GET /cart" {
		t.Errorf("recent = %+v, want trace %s of 2 spans rooted at GET /cart", recent, id)
		return
	}
	tree := recent[0].Tree
	if len(tree) != 2 || tree[0].Name != "GET /cart" || tree[0].Parent != "" || tree[1].Parent != tree[0].ID || tree[0].Container != "shop/frontend" {
		t.Errorf("span tree = %+v, want GET /cart first and its child pointing at it", tree)
	}
}

func TestOTLPGRPCReceiverDecodesTheOpenTelemetrySDK(t *testing.T) {
	c := startCollector(t, Config{LingerTicks: 1})
	exporter, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(c.Addrs().OTLPGRPC), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	id := emitWithSDK(t, exporter)
	checkSDKTrace(t, c, ReceiverOTLPGRPC, id)
}

func TestOTLPGRPCReceiverDecodesGzippedRequests(t *testing.T) {
	c := startCollector(t, Config{LingerTicks: 1})
	exporter, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(c.Addrs().OTLPGRPC), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	id := emitWithSDK(t, exporter)
	checkSDKTrace(t, c, ReceiverOTLPGRPC, id)
}

func TestOTLPHTTPReceiverDecodesTheOpenTelemetrySDK(t *testing.T) {
	for _, compression := range []otlptracehttp.Compression{otlptracehttp.NoCompression, otlptracehttp.GzipCompression} {
		c := startCollector(t, Config{LingerTicks: 1})
		exporter, err := otlptracehttp.New(context.Background(),
			otlptracehttp.WithEndpoint(c.Addrs().OTLPHTTP), otlptracehttp.WithInsecure(),
			otlptracehttp.WithCompression(compression))
		if err != nil {
			t.Fatal(err)
		}
		id := emitWithSDK(t, exporter)
		checkSDKTrace(t, c, ReceiverOTLPHTTP, id)
	}
}
