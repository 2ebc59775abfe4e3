package traces

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ForwardConfig sends every received span on to an OTLP gRPC endpoint (a
// Jaeger collector, an OpenTelemetry collector), so sluice can stand
// where a Jaeger agent stood. OTLP requests go on as they came; Jaeger
// batches are translated to OTLP.
type ForwardConfig struct {
	// Endpoint is host:port of the OTLP gRPC receiver.
	Endpoint string
	// QueueSpans bounds the spans waiting to be sent (default 65536).
	QueueSpans int
	// Timeout bounds one export (default 10s).
	Timeout time.Duration
	// DialOptions replace the default (plaintext) transport options.
	DialOptions []grpc.DialOption
}

type pendingExport struct {
	req   *coltracepb.ExportTraceServiceRequest
	spans int
}

// forwarder has its own bounded queue, so a slow or absent endpoint holds
// back neither the receivers nor the latency account.
type forwarder struct {
	config  ForwardConfig
	conn    *grpc.ClientConn
	client  coltracepb.TraceServiceClient
	metrics *metrics
	logger  *slog.Logger

	mu      sync.Mutex
	pending []pendingExport
	spans   int
	ready   chan struct{}
}

func newForwarder(config ForwardConfig, m *metrics, logger *slog.Logger) (*forwarder, error) {
	if config.Endpoint == "" {
		return nil, errors.New("forward: Endpoint is required")
	}
	setDefault(&config.QueueSpans, 65536)
	if config.Timeout <= 0 {
		config.Timeout = 10 * time.Second
	}
	opts := config.DialOptions
	if opts == nil {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(config.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", config.Endpoint, err)
	}
	return &forwarder{
		config: config, conn: conn, client: coltracepb.NewTraceServiceClient(conn),
		metrics: m, logger: logger.With("forward_to", config.Endpoint), ready: make(chan struct{}, 1),
	}, nil
}

// enqueue keeps req for sending, or counts its spans dropped when the
// queue has no room for all of them: a request is forwarded whole or not
// at all, since splitting it would change it.
func (f *forwarder) enqueue(req *coltracepb.ExportTraceServiceRequest, spans int) {
	if spans == 0 {
		return
	}
	f.mu.Lock()
	fits := f.spans+spans <= f.config.QueueSpans
	if fits {
		f.pending = append(f.pending, pendingExport{req, spans})
		f.spans += spans
	}
	f.mu.Unlock()
	if !fits {
		f.metrics.forwardDropped.WithLabelValues(ForwardDropQueueFull).Add(float64(spans))
		return
	}
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

func (f *forwarder) take() []pendingExport {
	f.mu.Lock()
	defer f.mu.Unlock()
	taken := f.pending
	f.pending, f.spans = nil, 0
	return taken
}

// run sends queued requests until ctx ends.
func (f *forwarder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.ready:
			f.send(ctx, f.take())
		}
	}
}

// flush sends what is still queued, within ctx, and closes the
// connection; what ctx leaves no time for is counted as failed.
func (f *forwarder) flush(ctx context.Context) {
	f.send(ctx, f.take())
	if err := f.conn.Close(); err != nil {
		f.logger.Warn("close forwarding connection", "err", err)
	}
}

func (f *forwarder) send(ctx context.Context, batch []pendingExport) {
	for _, p := range batch {
		if err := f.export(ctx, p.req); err != nil {
			f.metrics.forwardDropped.WithLabelValues(ForwardDropFailed).Add(float64(p.spans))
			f.logger.Warn("forward spans", "spans", p.spans, "err", err)
			continue
		}
		f.metrics.forwarded.Add(float64(p.spans))
	}
}

func (f *forwarder) export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) error {
	ctx, cancel := context.WithTimeout(ctx, f.config.Timeout)
	defer cancel()
	_, err := f.client.Export(ctx, req)
	return err
}
