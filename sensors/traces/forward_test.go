package traces

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// sinkCollector is an OTLP gRPC server standing for the Jaeger or
// OpenTelemetry collector that spans are forwarded to.
type sinkCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
}

func (s *sinkCollector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (s *sinkCollector) received() []*coltracepb.ExportTraceServiceRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*coltracepb.ExportTraceServiceRequest(nil), s.requests...)
}

func startSink(t *testing.T) (*sinkCollector, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinkCollector{}
	server := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(server, sink)
	go server.Serve(l)
	t.Cleanup(server.Stop)
	return sink, l.Addr().String()
}

func TestForwardingSendsOTLPRequestsUnchanged(t *testing.T) {
	sink, address := startSink(t)
	c := startCollector(t, Config{Forward: &ForwardConfig{Endpoint: address}})
	sent := []*coltracepb.ExportTraceServiceRequest{
		otlpRequest("worker-e5f6", 1, 3),
		otlpRequest("a-service-sluice-does-not-know", 10, 2),
	}
	client := dialOTLP(t, c.Addrs().OTLPGRPC)
	for _, req := range sent {
		if _, err := client.Export(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	sendDatagram(t, c.Addrs().JaegerCompact, encodeEmitBatch(t, testJaegerBatch(), true))
	waitFor(t, "the datagram", func() bool { return c.received(ReceiverJaegerCompact) == 3 })
	// Stopping flushes the forwarder's queue.
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	got := sink.received()
	if len(got) != 3 {
		t.Fatalf("sink got %d requests, want 3", len(got))
	}
	for i, want := range sent {
		if !proto.Equal(got[i], want) {
			t.Errorf("request %d changed on the way:\n got %v\nwant %v", i, got[i], want)
		}
	}
	spans, invalid := spansFromOTLP(got[2], nil)
	wantSpans, _ := spansFromJaeger(testJaegerBatch(), nil)
	if invalid != 0 || len(spans) != len(wantSpans) {
		t.Fatalf("forwarded Jaeger batch has %d spans (%d invalid), want %d", len(spans), invalid, len(wantSpans))
	}
	for i := range spans {
		if spans[i] != wantSpans[i] {
			t.Errorf("forwarded Jaeger span %d = %+v, want %+v", i, spans[i], wantSpans[i])
		}
	}
	if got := toFloat(c.metrics.forwarded); got != 8 {
		t.Errorf("forwarded counter = %g spans, want 8", got)
	}
}

func TestForwardingCountsWhatTheEndpointDidNotTake(t *testing.T) {
	// Nothing listens here: the port was free a moment ago.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := l.Addr().String()
	l.Close()
	c := startCollector(t, Config{Forward: &ForwardConfig{Endpoint: address, Timeout: 200 * time.Millisecond}})
	if _, err := dialOTLP(t, c.Addrs().OTLPGRPC).Export(context.Background(), otlpRequest("worker-e5f6", 1, 4)); err != nil {
		t.Fatal(err)
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	failed := c.metrics.forwardDropped.WithLabelValues(ForwardDropFailed)
	if got := toFloat(failed); got != 4 {
		t.Errorf("forward failures = %g spans, want 4", got)
	}
	// Forwarding failing does not touch the latency account.
	if got := c.Snapshot().Containers["batch/worker"].Count; got != 4 {
		t.Errorf("latency count = %d, want 4", got)
	}
}
