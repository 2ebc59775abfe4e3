package traces

import (
	"context"
	"fmt"
	"net"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"

	// Collectors and SDKs may compress with gzip; the server must know it.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"
)

// maxOTLPRequest bounds one OTLP request, over gRPC or HTTP. It is gRPC's
// default too, and far above what SDK batches (512 spans) weigh.
const maxOTLPRequest = 4 << 20

type otlpGRPCReceiver struct {
	coltracepb.UnimplementedTraceServiceServer
	collector *Collector
	listener  net.Listener
	server    *grpc.Server
}

func (c *Collector) bindOTLPGRPC(address string) (receiverServer, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("OTLP gRPC receiver: listen on %s: %w", address, err)
	}
	r := &otlpGRPCReceiver{collector: c, listener: l}
	codec := countingCodec{CodecV2: encoding.GetCodecV2("proto"), onError: func(err error) {
		c.decodeError(ReceiverOTLPGRPC, err)
	}}
	r.server = grpc.NewServer(grpc.MaxRecvMsgSize(maxOTLPRequest), grpc.ForceServerCodecV2(codec))
	coltracepb.RegisterTraceServiceServer(r.server, r)
	return r, nil
}

func (r *otlpGRPCReceiver) name() string   { return ReceiverOTLPGRPC }
func (r *otlpGRPCReceiver) addr() net.Addr { return r.listener.Addr() }
func (r *otlpGRPCReceiver) serve() error   { return r.server.Serve(r.listener) }

func (r *otlpGRPCReceiver) stop(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.server.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.server.Stop()
		<-done
	}
}

// Export answers with a partial success naming the spans it could not
// keep, as OTLP asks: the client must not retry those.
func (r *otlpGRPCReceiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	return r.collector.exportOTLP(ReceiverOTLPGRPC, req), nil
}

// exportOTLP is what both OTLP receivers do with a decoded request.
func (c *Collector) exportOTLP(receiver string, req *coltracepb.ExportTraceServiceRequest) *coltracepb.ExportTraceServiceResponse {
	spans, invalid := spansFromOTLP(req, make([]Span, 0, countOTLPSpans(req)))
	c.forward(req, len(spans)+invalid)
	resp := &coltracepb.ExportTraceServiceResponse{}
	if rejected := c.ingest(receiver, spans, invalid); rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: int64(rejected),
			ErrorMessage:  fmt.Sprintf("%d of %d spans invalid or over the queue's bound", rejected, len(spans)+invalid),
		}
	}
	return resp
}

// countingCodec is gRPC's proto codec, counting what it fails to decode:
// a malformed request never reaches Export, so this is where it is seen.
type countingCodec struct {
	encoding.CodecV2
	onError func(error)
}

func (c countingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.CodecV2.Unmarshal(data, v)
	if err != nil {
		c.onError(err)
	}
	return err
}

func countOTLPSpans(req *coltracepb.ExportTraceServiceRequest) int {
	n := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += len(ss.GetSpans())
		}
	}
	return n
}
