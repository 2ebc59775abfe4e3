package traces

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
)

// rawCodec sends bytes as they are, so a test can put garbage on the wire
// where a client would put a request.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

func TestOTLPGRPCReceiverCountsMalformedRequests(t *testing.T) {
	c := startCollector(t, Config{})
	conn, err := grpc.NewClient(c.Addrs().OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	garbage := []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01}
	var resp []byte
	err = conn.Invoke(context.Background(), coltracepb.TraceService_Export_FullMethodName, &garbage, &resp,
		grpc.ForceCodecV2(rawCodec{}))
	if err == nil {
		t.Fatal("garbage was accepted")
	}
	if got := c.decodeErrors(ReceiverOTLPGRPC); got != 1 {
		t.Errorf("decode errors = %g, want 1", got)
	}
	// The server is still there for well-formed requests.
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(context.Background(), &coltracepb.ExportTraceServiceRequest{}); err != nil {
		t.Errorf("export after garbage: %v", err)
	}
}

func TestOTLPHTTPReceiverRejectsMalformedRequests(t *testing.T) {
	c := startCollector(t, Config{})
	url := "http://" + c.Addrs().OTLPHTTP + TracesPath
	cases := []struct {
		name, contentType, encoding string
		body                        string
		status                      int
	}{
		{"bad protobuf", contentTypeProto, "", "\x0a\xff\xff\xff\xff\x0f", http.StatusBadRequest},
		{"bad JSON", contentTypeJSON, "", `{"resourceSpans": [`, http.StatusBadRequest},
		{"JSON id not hex", contentTypeJSON, "", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"}]}]}]}`, http.StatusBadRequest},
		{"not gzip", contentTypeProto, "gzip", "plain", http.StatusBadRequest},
		{"unknown encoding", contentTypeProto, "br", "", http.StatusBadRequest},
		{"wrong media type", "text/plain", "", "hello", http.StatusUnsupportedMediaType},
		{"too large", contentTypeProto, "", strings.Repeat("x", maxOTLPRequest+1), http.StatusBadRequest},
	}
	for i, tc := range cases {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", tc.contentType)
		if tc.encoding != "" {
			req.Header.Set("Content-Encoding", tc.encoding)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got := c.decodeErrors(ReceiverOTLPHTTP); got != float64(i+1) {
			t.Errorf("%s: decode errors = %g, want %d", tc.name, got, i+1)
		}
	}
	if got := c.received(ReceiverOTLPHTTP); got != 0 {
		t.Errorf("received %g spans from garbage", got)
	}
}

func TestJaegerReceiversCountMalformedDatagrams(t *testing.T) {
	c := startCollector(t, Config{})
	valid := encodeEmitBatch(t, testJaegerBatch(), true)
	packets := [][]byte{
		{},
		[]byte("not thrift at all"),
		valid[:len(valid)/2],
		encodeEmitBatch(t, testJaegerBatch(), false), // binary sent to the compact port
	}
	for _, p := range packets {
		sendDatagram(t, c.Addrs().JaegerCompact, p)
		sendDatagram(t, c.Addrs().JaegerBinary, p[:len(p)/2])
	}
	want := float64(len(packets))
	waitFor(t, "every datagram counted", func() bool {
		return c.decodeErrors(ReceiverJaegerCompact) == want && c.decodeErrors(ReceiverJaegerBinary) == want
	})
	// And the receivers still decode good datagrams.
	sendDatagram(t, c.Addrs().JaegerCompact, valid)
	waitFor(t, "the valid batch", func() bool { return c.received(ReceiverJaegerCompact) == 3 })
}
