package traces

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"os"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testdata/otlp_trace.json is the OTLP/JSON example of the OTLP
// specification (upper-case hex ids), with a second span in lower case,
// an enum by name, a link and a field this decoder does not know.
func TestDecodeOTLPJSONReadsIDsAsHex(t *testing.T) {
	body, err := os.ReadFile("testdata/otlp_trace.json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := decodeOTLPJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	checks := []struct {
		what      string
		got, want []byte
	}{
		{"trace id", spans[0].TraceId, mustHex(t, "5b8efff798038103d269b633813fc60c")},
		{"span id", spans[0].SpanId, mustHex(t, "eee19b7ec3c1b174")},
		{"parent id", spans[0].ParentSpanId, mustHex(t, "eee19b7ec3c1b173")},
		{"second trace id", spans[1].TraceId, mustHex(t, "5b8efff798038103d269b633813fc60c")},
		{"second span id", spans[1].SpanId, mustHex(t, "0102030405060708")},
		{"link trace id", spans[1].Links[0].TraceId, mustHex(t, "0af7651916cd43dd8448eb211c80319c")},
		{"link span id", spans[1].Links[0].SpanId, mustHex(t, "b7ad6b7169203331")},
	}
	for _, c := range checks {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s = %x, want %x", c.what, c.got, c.want)
		}
	}
	if len(spans[1].ParentSpanId) != 0 {
		t.Errorf("empty parent decoded as %x", spans[1].ParentSpanId)
	}
	decoded, invalid := spansFromOTLP(req, nil)
	if invalid != 0 || len(decoded) != 2 {
		t.Fatalf("decoded %d spans, %d invalid; want 2, 0", len(decoded), invalid)
	}
	s := decoded[0]
	if s.Service != "backend-c3d4" || s.Kind != KindServer || !s.Error || s.Duration != 250*time.Millisecond ||
		!s.Start.Equal(time.Unix(1544712660, 0)) || s.Trace.String() != "5b8efff798038103d269b633813fc60c" {
		t.Errorf("span = %+v", s)
	}
	if decoded[1].Kind != KindClient || !decoded[1].Parent.IsZero() {
		t.Errorf("second span = %+v, want a client root", decoded[1])
	}
}

// Plain protojson would have read the hex ids as base64 into ids of the
// wrong length; this is what the fix is for.
func TestPlainProtoJSONMisreadsHexIDs(t *testing.T) {
	body, err := os.ReadFile("testdata/otlp_trace.json")
	if err != nil {
		t.Fatal(err)
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, req); err != nil {
		t.Fatal(err)
	}
	if n := len(req.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId); n == 16 {
		t.Errorf("plain protojson read a 16-byte trace id; the hex fix would be needless")
	}
}

// Some older exporters sent ids base64-encoded; those are 16 and 8 bytes
// already and must be left alone.
func TestDecodeOTLPJSONKeepsBase64IDs(t *testing.T) {
	body := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{
		"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ=",
		"startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}`)
	req, err := decodeOTLPJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if hex.EncodeToString(s.TraceId) != "5b8efff798038103d269b633813fc60c" || hex.EncodeToString(s.SpanId) != "eee19b7ec3c1b174" {
		t.Errorf("ids %x %x", s.TraceId, s.SpanId)
	}
}

func TestOTLPHTTPReceiverDecodesJSON(t *testing.T) {
	c := startCollector(t, Config{})
	body, err := os.ReadFile("testdata/otlp_trace.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+c.Addrs().OTLPHTTP+TracesPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != contentTypeJSON {
		t.Fatalf("status %s, content type %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if got := c.received(ReceiverOTLPHTTP); got != 2 {
		t.Errorf("received %g spans, want 2", got)
	}
	got := c.Snapshot().Containers["shop/backend"]
	if got.Count != 1 || got.Errors != 1 || got.MaxMs != 250 {
		t.Errorf("backend latency = %+v, want one failed 250 ms request", got)
	}
}

func TestOTLPJSONWithHexIDsRoundTrips(t *testing.T) {
	for i, req := range otlpSeeds(t) {
		got, err := decodeOTLPJSON(otlpJSONWithHexIDs(t, req))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if !proto.Equal(got, req) {
			t.Errorf("seed %d changed:\n got %v\nwant %v", i, got, req)
		}
	}
}
