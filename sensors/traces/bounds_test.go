package traces

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// otlpRequest builds n root server spans of service, each in its own
// trace numbered from first, each lasting 1 ms.
func otlpRequest(service string, first, n int) *coltracepb.ExportTraceServiceRequest {
	spans := make([]*tracepb.Span, n)
	start := uint64(epoch.UnixNano())
	for i := range spans {
		tr, id := traceID(uint64(first+i)), spanID(uint64(first+i))
		spans[i] = &tracepb.Span{
			TraceId: tr[:], SpanId: id[:], Name: "work", Kind: tracepb.Span_SPAN_KIND_SERVER,
			StartTimeUnixNano: start, EndTimeUnixNano: start + uint64(time.Millisecond),
		}
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{stringAttribute(serviceNameKey, service)}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
}

func dialOTLP(t testing.TB, address string) coltracepb.TraceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return coltracepb.NewTraceServiceClient(conn)
}

// A flood far over the queue's bound: whatever the core did not get is
// counted, span for span, and the client is told how many were rejected.
func TestQueueBoundHoldsUnderAFloodAndCountsEveryDrop(t *testing.T) {
	const queueSpans = 100
	c := startCollector(t, Config{QueueSpans: queueSpans, MaxSamplesPerTick: 1 << 20})
	client := dialOTLP(t, c.Addrs().OTLPGRPC)
	var (
		mu       sync.Mutex
		sent     int
		rejected int64
		wg       sync.WaitGroup
	)
	for g := range 4 {
		wg.Go(func() {
			for r := range 50 {
				// One request in ten is larger than the whole queue.
				n := 40
				if r%10 == 0 {
					n = 3 * queueSpans
				}
				resp, err := client.Export(context.Background(), otlpRequest("worker-e5f6", 1+(g*50+r)*1000, n))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent += n
				rejected += resp.GetPartialSuccess().GetRejectedSpans()
				mu.Unlock()
				if q := c.queue.len(); q > queueSpans {
					t.Errorf("queue holds %d spans, bound %d", q, queueSpans)
				}
			}
		})
	}
	wg.Wait()
	kept := c.Snapshot().Containers["batch/worker"].Count
	dropped := c.dropped(DropQueueFull)
	if other := c.dropped(DropInvalid) + c.dropped(DropUnknownService); other != 0 {
		t.Errorf("%g spans dropped for reasons other than the queue", other)
	}
	if got := c.received(ReceiverOTLPGRPC); got != float64(sent) {
		t.Errorf("received %g, sent %d", got, sent)
	}
	if dropped != float64(sent)-float64(kept) {
		t.Errorf("dropped %g, want sent %d - kept %d = %d", dropped, sent, kept, int64(sent)-kept)
	}
	if dropped < float64(4*5*2*queueSpans) {
		t.Errorf("dropped only %g: the oversized requests alone must lose %d", dropped, 4*5*2*queueSpans)
	}
	if float64(rejected) != dropped {
		t.Errorf("clients were told %d spans were rejected, %g were dropped", rejected, dropped)
	}
}

// Spans accepted just before shutdown are not lost: Start moves them into
// the core and closes their traces before it returns.
func TestShutdownFlushesQueuedSpansAndOpenTraces(t *testing.T) {
	c := startCollector(t, Config{LingerTicks: 50})
	client := dialOTLP(t, c.Addrs().OTLPGRPC)
	if _, err := client.Export(context.Background(), otlpRequest("worker-e5f6", 1, 25)); err != nil {
		t.Fatal(err)
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	snap := c.Snapshot()
	if got := snap.Containers["batch/worker"].Count; got != 25 {
		t.Errorf("container count after shutdown = %d, want 25", got)
	}
	if got := snap.Apps["batch"].Count; got != 25 {
		t.Errorf("traces closed at shutdown = %d, want 25 despite a 50-tick wait", got)
	}
}

func TestMetricsPassLintAndAreRegistered(t *testing.T) {
	c := startCollector(t, Config{})
	problems, err := testutil.GatherAndLint(c.registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	families, err := c.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	for _, want := range []string{"sluice_traces_spans_received_total", "sluice_traces_spans_dropped_total", "sluice_traces_decode_errors_total"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("%s not registered; have %v", want, names)
		}
	}
}

func TestNewRefusesAMissingResolverAndADoubleRegistration(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a Resolver succeeded")
	}
	c := startCollector(t, Config{})
	if _, err := New(Config{Resolver: mapResolver(nil), Registry: c.registry}); err == nil {
		t.Error("registering the metrics twice succeeded")
	}
}

func TestListenReportsAPortInUse(t *testing.T) {
	c := startCollector(t, Config{})
	_, err := New(Config{Resolver: mapResolver(nil), Receivers: Receivers{OTLPGRPC: c.Addrs().OTLPGRPC}})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := New(Config{Resolver: mapResolver(nil), Receivers: Receivers{OTLPHTTP: "127.0.0.1:0", OTLPGRPC: c.Addrs().OTLPGRPC}})
	if err := second.Listen(); err == nil || !strings.Contains(err.Error(), c.Addrs().OTLPGRPC) {
		t.Errorf("Listen on a taken port: %v, want an error naming it", err)
	}
}
