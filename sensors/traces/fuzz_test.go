package traces

import (
	"os"
	"testing"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The fuzzers feed each decoder arbitrary bytes, starting from valid
// encodings. Whatever a decoder accepts must turn into spans with valid
// ids and times and go through the core; nothing may panic. `go test`
// runs the seeds; `make fuzz` explores.

// checkSpans is what every decoded span must satisfy, and feeds the spans
// to a core that knows every service, so its paths run on them too.
func checkSpans(t *testing.T, spans []Span) {
	t.Helper()
	for _, s := range spans {
		if s.Trace.IsZero() || s.ID.IsZero() || s.Duration < 0 || s.Duration > maxSpanDuration {
			t.Fatalf("decoder let through an invalid span: %+v", s)
		}
	}
	m, err := newMetrics(nil, func() float64 { return 0 })
	if err != nil {
		t.Fatal(err)
	}
	c := newCore(bounds{lingerTicks: 1, maxOpenTraces: 8, maxOpenSpans: 16, maxSamples: 4, recentPerApp: 2},
		func(string) (Binding, bool) { return Binding{App: "app", Container: "app/c"}, true }, m, 1)
	c.add(spans)
	c.snapshot()
	c.flush()
	c.snapshot()
}

func otlpSeeds(t testing.TB) []*coltracepb.ExportTraceServiceRequest {
	body, err := os.ReadFile("testdata/otlp_trace.json")
	if err != nil {
		t.Fatal(err)
	}
	example, err := decodeOTLPJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	withChild := otlpRequest("frontend-a1b2", 1, 2)
	child := withChild.ResourceSpans[0].ScopeSpans[0].Spans[1]
	child.TraceId = withChild.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId
	child.ParentSpanId = withChild.ResourceSpans[0].ScopeSpans[0].Spans[0].SpanId
	return []*coltracepb.ExportTraceServiceRequest{example, withChild, otlpRequest("worker-e5f6", 7, 5), {}}
}

func FuzzOTLPProto(f *testing.F) {
	for _, req := range otlpSeeds(f) {
		body, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeOTLPProto(body)
		if err != nil {
			return
		}
		spans, _ := spansFromOTLP(req, nil)
		checkSpans(t, spans)
	})
}

// The JSON seeds are written as OTLP/JSON writes them: hex ids.
func FuzzOTLPJSON(f *testing.F) {
	body, err := os.ReadFile("testdata/otlp_trace.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	for _, req := range otlpSeeds(f)[1:] {
		f.Add(otlpJSONWithHexIDs(f, req))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeOTLPJSON(body)
		if err != nil {
			return
		}
		spans, _ := spansFromOTLP(req, nil)
		checkSpans(t, spans)
	})
}

// otlpJSONWithHexIDs encodes req as OTLP/JSON: protojson, with each id
// turned from base64 into hex (the reverse of decodeOTLPJSON's fix).
func otlpJSONWithHexIDs(t testing.TB, req *coltracepb.ExportTraceServiceRequest) []byte {
	t.Helper()
	hexed := proto.Clone(req).(*coltracepb.ExportTraceServiceRequest)
	for _, rs := range hexed.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				s.TraceId, s.SpanId, s.ParentSpanId = misreadAsBase64(t, s.TraceId), misreadAsBase64(t, s.SpanId), misreadAsBase64(t, s.ParentSpanId)
			}
		}
	}
	body, err := protojson.Marshal(hexed)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// misreadAsBase64 is the bytes whose base64 is id's hex.
func misreadAsBase64(t testing.TB, id []byte) []byte {
	if len(id) == 0 {
		return id
	}
	b, err := base64Decode(hexString(id))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jaegerSeeds() []*jaeger.Batch {
	empty := &jaeger.Batch{Process: &jaeger.Process{ServiceName: "x"}}
	return []*jaeger.Batch{testJaegerBatch(), empty}
}

func FuzzJaegerCompact(f *testing.F) {
	for _, b := range jaegerSeeds() {
		f.Add(encodeEmitBatch(f, b, true))
	}
	f.Fuzz(func(t *testing.T, packet []byte) { fuzzJaeger(t, decodeJaegerCompact, packet) })
}

func FuzzJaegerBinary(f *testing.F) {
	for _, b := range jaegerSeeds() {
		f.Add(encodeEmitBatch(f, b, false))
	}
	f.Fuzz(func(t *testing.T, packet []byte) { fuzzJaeger(t, decodeJaegerBinary, packet) })
}

func fuzzJaeger(t *testing.T, decode func([]byte) (*jaeger.Batch, error), packet []byte) {
	batch, err := decode(packet)
	if err != nil {
		return
	}
	spans, _ := spansFromJaeger(batch, nil)
	checkSpans(t, spans)
	// The forwarding translation must cope with whatever decoded.
	forwarded, _ := spansFromOTLP(jaegerToOTLP(batch), nil)
	if len(forwarded) < len(spans) {
		t.Fatalf("translation lost spans: %d of %d", len(forwarded), len(spans))
	}
}
