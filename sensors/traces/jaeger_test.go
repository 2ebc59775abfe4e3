package traces

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/sluice-io/sluice/state"
)

func ptr[T any](v T) *T { return &v }

// testJaegerBatch is what a Jaeger client in the backend sends: a 20 ms
// server span that failed, a 40 ms one that did not, and a child of the
// second that names its parent only by reference, as newer clients do.
func testJaegerBatch() *jaeger.Batch {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	server := &jaeger.Tag{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("server")}
	return &jaeger.Batch{
		Process: &jaeger.Process{ServiceName: "backend-c3d4", Tags: []*jaeger.Tag{
			{Key: "hostname", VType: jaeger.TagType_STRING, VStr: ptr("node-1")},
		}},
		Spans: []*jaeger.Span{{
			TraceIdHigh: 0x0102030405060708, TraceIdLow: 0x1112131415161718, SpanId: 0x21,
			OperationName: "GET /a", StartTime: start, Duration: 20_000,
			Tags: []*jaeger.Tag{server, {Key: "error", VType: jaeger.TagType_BOOL, VBool: ptr(true)}},
		}, {
			TraceIdLow: 0x99, SpanId: 0x31, OperationName: "GET /b", StartTime: start, Duration: 40_000,
			Tags: []*jaeger.Tag{server, {Key: "http.status_code", VType: jaeger.TagType_LONG, VLong: ptr(int64(200))}},
		}, {
			TraceIdLow: 0x99, SpanId: 0x32, OperationName: "SELECT", StartTime: start + 1000, Duration: 5_000,
			References: []*jaeger.SpanRef{{RefType: jaeger.SpanRefType_CHILD_OF, TraceIdLow: 0x99, SpanId: 0x31}},
			Tags:       []*jaeger.Tag{{Key: "span.kind", VType: jaeger.TagType_STRING, VStr: ptr("client")}},
		}},
	}
}

// encodeEmitBatch encodes batch as a Jaeger client does: Agent.emitBatch
// through jaeger-idl's generated client, into one datagram's buffer.
func encodeEmitBatch(t testing.TB, batch *jaeger.Batch, compact bool) []byte {
	t.Helper()
	buf := thrift.NewTMemoryBuffer()
	var factory thrift.TProtocolFactory = thrift.NewTBinaryProtocolFactoryConf(nil)
	if compact {
		factory = thrift.NewTCompactProtocolFactoryConf(nil)
	}
	if err := agent.NewAgentClientFactory(buf, factory).EmitBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sendDatagram(t *testing.T, address string, packet []byte) {
	t.Helper()
	conn, err := net.Dial("udp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(packet); err != nil {
		t.Fatal(err)
	}
}

func TestJaegerReceiversDecodeJaegerIDLBatches(t *testing.T) {
	for _, receiver := range []string{ReceiverJaegerCompact, ReceiverJaegerBinary} {
		t.Run(receiver, func(t *testing.T) {
			c := startCollector(t, Config{LingerTicks: 1})
			address := c.Addrs().JaegerCompact
			if receiver == ReceiverJaegerBinary {
				address = c.Addrs().JaegerBinary
			}
			sendDatagram(t, address, encodeEmitBatch(t, testJaegerBatch(), receiver == ReceiverJaegerCompact))
			waitFor(t, "3 spans received", func() bool { return c.received(receiver) == 3 })
			snap := c.Snapshot()
			want := state.LatencyStats{Count: 2, Errors: 1, P50Ms: 20, P95Ms: 40, P99Ms: 40, MaxMs: 40}
			if got := snap.Containers["shop/backend"]; got != want {
				t.Errorf("backend latency = %+v, want %+v", got, want)
			}
			if got := snap.Apps["shop"]; got.Count != 2 || got.MaxMs != 40 {
				t.Errorf("shop end-to-end = %+v, want 2 traces, max 40 ms", got)
			}
			var byRef *TraceSummary
			for _, r := range c.RecentTraces("shop", 0) {
				if r.TraceID == "00000000000000000000000000000099" {
					byRef = &r
				}
			}
			if byRef == nil || byRef.Spans != 2 || !byRef.Complete || byRef.Root != "GET /b" {
				t.Errorf("trace 99 = %+v, want 2 spans rooted at GET /b", byRef)
			}
		})
	}
}

func TestSpansFromJaegerWidenIDsAndConvertMicroseconds(t *testing.T) {
	spans, invalid := spansFromJaeger(testJaegerBatch(), nil)
	if invalid != 0 || len(spans) != 3 {
		t.Fatalf("%d spans, %d invalid", len(spans), invalid)
	}
	if got := spans[0].Trace.String(); got != "01020304050607081112131415161718" {
		t.Errorf("trace id %s", got)
	}
	if got := spans[2].Parent.String(); got != "0000000000000031" {
		t.Errorf("parent from reference = %s", got)
	}
	if spans[2].Kind != KindClient || spans[2].Duration != 5*time.Millisecond || spans[2].Error {
		t.Errorf("child = %+v", spans[2])
	}
}

func TestSpansFromJaegerRejectsInvalidSpans(t *testing.T) {
	batch := testJaegerBatch()
	batch.Spans[0].Duration = -1
	batch.Spans[1].TraceIdLow = 0
	batch.Spans = append(batch.Spans, nil)
	spans, invalid := spansFromJaeger(batch, nil)
	if invalid != 3 || len(spans) != 1 {
		t.Errorf("%d spans, %d invalid; want 1, 3", len(spans), invalid)
	}
}
