package traces

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// Receivers are the addresses the receivers listen on; an empty address
// leaves that receiver off.
type Receivers struct {
	OTLPGRPC      string // 4317/tcp
	OTLPHTTP      string // 4318/tcp, POST /v1/traces
	JaegerCompact string // 6831/udp
	JaegerBinary  string // 6832/udp
}

// String lists the addresses as a start-up log shows them, each with its
// receiver's name and protocol.
func (r Receivers) String() string {
	return fmt.Sprintf("%s=%s/tcp %s=%s/tcp %s=%s/udp %s=%s/udp",
		ReceiverOTLPGRPC, r.OTLPGRPC, ReceiverOTLPHTTP, r.OTLPHTTP,
		ReceiverJaegerCompact, r.JaegerCompact, ReceiverJaegerBinary, r.JaegerBinary)
}

// DefaultReceivers are the standard ports on host: "127.0.0.1" by
// default, or the container bridge's address so that containers reach
// the agent.
func DefaultReceivers(host string) Receivers {
	return Receivers{
		OTLPGRPC:      net.JoinHostPort(host, "4317"),
		OTLPHTTP:      net.JoinHostPort(host, "4318"),
		JaegerCompact: net.JoinHostPort(host, "6831"),
		JaegerBinary:  net.JoinHostPort(host, "6832"),
	}
}

// Config wires a Collector. Resolver is required; every zero bound takes
// its default.
type Config struct {
	// Receivers default to DefaultReceivers("127.0.0.1") when all empty.
	Receivers Receivers
	// Resolver binds service names (container GUIDs) to containers; a
	// Directory's Resolve is the usual one.
	Resolver Resolver
	// QueueSpans bounds the spans waiting between receivers and the core
	// (default 65536).
	QueueSpans int
	// LingerTicks is how many Snapshots a trace waits after its latest
	// span before its end-to-end latency counts (default 2): at least
	// LingerTicks-1 whole ticks for late spans from other containers.
	LingerTicks int
	// MaxOpenTraces and MaxOpenSpans bound the traces waiting for late
	// spans (defaults 10000 and 100000); past them the oldest close early.
	MaxOpenTraces int
	MaxOpenSpans  int
	// MaxSamplesPerTick bounds the latencies kept per container or app
	// per tick for quantiles (default 20000); see latencyWindow.
	MaxSamplesPerTick int
	// RecentTraces is how many finished traces per app RecentTraces can
	// list (default 100).
	RecentTraces int
	// Forward, when set, exports every received span to an OTLP gRPC
	// endpoint.
	Forward *ForwardConfig
	// Seed seeds the reservoir sampling.
	Seed uint64
	// Registry receives the metrics; nil leaves them unregistered.
	Registry prometheus.Registerer
	Logger   *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Receivers == (Receivers{}) {
		c.Receivers = DefaultReceivers("127.0.0.1")
	}
	setDefault(&c.QueueSpans, 65536)
	setDefault(&c.LingerTicks, 2)
	setDefault(&c.MaxOpenTraces, 10000)
	setDefault(&c.MaxOpenSpans, 100000)
	setDefault(&c.MaxSamplesPerTick, 20000)
	setDefault(&c.RecentTraces, 100)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Collector is the trace intake: receivers decode spans into a bounded
// queue, one goroutine moves them into the core, and the observation
// pipeline reads one Snapshot per tick.
type Collector struct {
	config    Config
	logger    *slog.Logger
	metrics   *metrics
	queue     *queue
	forwarder *forwarder
	counters  map[string]receiverCounters

	mu   sync.Mutex // guards core
	core *core

	listenOnce sync.Once
	listenErr  error
	servers    []receiverServer
}

type receiverCounters struct {
	received, decodeErrors prometheus.Counter
}

// receiverServer is one bound receiver: serve runs until stop is called,
// and stop returns once no more spans will be pushed.
type receiverServer interface {
	name() string
	addr() net.Addr
	serve() error
	stop(ctx context.Context)
}

// New checks config and creates the collector; nothing listens until
// Listen or Start.
func New(config Config) (*Collector, error) {
	if config.Resolver == nil {
		return nil, errors.New("trace collector: Resolver is required")
	}
	config.setDefaults()
	c := &Collector{config: config, logger: config.Logger.With("sensor", "traces")}
	c.queue = newQueue(config.QueueSpans)
	m, err := newMetrics(config.Registry, func() float64 { return float64(c.queue.len()) })
	if err != nil {
		return nil, fmt.Errorf("trace collector: %w", err)
	}
	c.metrics = m
	c.counters = map[string]receiverCounters{}
	for _, r := range receiverNames {
		c.counters[r] = receiverCounters{m.received.WithLabelValues(r), m.decodeErrors.WithLabelValues(r)}
	}
	c.core = newCore(bounds{
		lingerTicks:   config.LingerTicks,
		maxOpenTraces: config.MaxOpenTraces,
		maxOpenSpans:  config.MaxOpenSpans,
		maxSamples:    config.MaxSamplesPerTick,
		recentPerApp:  config.RecentTraces,
	}, config.Resolver, m, config.Seed)
	if config.Forward != nil {
		if c.forwarder, err = newForwarder(*config.Forward, m, c.logger); err != nil {
			return nil, fmt.Errorf("trace collector: %w", err)
		}
	}
	return c, nil
}

// Listen binds every configured receiver, so that Addrs can report the
// ports before Start serves them. Start calls it when nobody did.
func (c *Collector) Listen() error {
	c.listenOnce.Do(func() { c.listenErr = c.listen() })
	return c.listenErr
}

func (c *Collector) listen() error {
	r := c.config.Receivers
	binders := []struct {
		address string
		bind    func(string) (receiverServer, error)
	}{
		{r.OTLPGRPC, c.bindOTLPGRPC},
		{r.OTLPHTTP, c.bindOTLPHTTP},
		{r.JaegerCompact, func(a string) (receiverServer, error) { return c.bindJaeger(a, ReceiverJaegerCompact) }},
		{r.JaegerBinary, func(a string) (receiverServer, error) { return c.bindJaeger(a, ReceiverJaegerBinary) }},
	}
	for _, b := range binders {
		if b.address == "" {
			continue
		}
		s, err := b.bind(b.address)
		if err != nil {
			for _, bound := range c.servers {
				bound.stop(context.Background())
			}
			c.servers = nil
			return err
		}
		c.servers = append(c.servers, s)
	}
	return nil
}

// Addrs reports the addresses the receivers are bound to (useful when a
// configured port was 0); empty before Listen.
func (c *Collector) Addrs() Receivers {
	var r Receivers
	for _, s := range c.servers {
		a := s.addr().String()
		switch s.name() {
		case ReceiverOTLPGRPC:
			r.OTLPGRPC = a
		case ReceiverOTLPHTTP:
			r.OTLPHTTP = a
		case ReceiverJaegerCompact:
			r.JaegerCompact = a
		case ReceiverJaegerBinary:
			r.JaegerBinary = a
		}
	}
	return r
}

// ShutdownTimeout bounds how long Start waits, after ctx ends, for
// in-flight requests and the forwarder's queue.
const ShutdownTimeout = 5 * time.Second

// Start serves the receivers and moves spans into the core until ctx
// ends. Then it stops the receivers, lets in-flight requests finish,
// moves everything queued into the core, closes the open traces and
// flushes the forwarder, so nothing accepted is lost; the next Snapshot
// reports it. It returns the first receiver that failed, if any.
func (c *Collector) Start(ctx context.Context) error {
	if err := c.Listen(); err != nil {
		return err
	}
	serveCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, s := range c.servers {
		wg.Go(func() {
			if err := s.serve(); err != nil {
				cancel(fmt.Errorf("trace receiver %s on %s: %w", s.name(), s.addr(), err))
			}
		})
	}
	if c.forwarder != nil {
		wg.Go(func() { c.forwarder.run(serveCtx) })
	}
	c.feedCore(serveCtx)

	stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer stopCancel()
	for _, s := range c.servers {
		s.stop(stopCtx)
	}
	c.moveQueued(nil)
	c.mu.Lock()
	c.core.flush()
	c.mu.Unlock()
	wg.Wait()
	if c.forwarder != nil {
		c.forwarder.flush(stopCtx)
	}
	if err := context.Cause(serveCtx); err != nil && !errors.Is(err, ctx.Err()) {
		return err
	}
	return nil
}

// feedCore moves batches from the queue into the core until ctx ends.
func (c *Collector) feedCore(ctx context.Context) {
	var reuse [][]Span
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.queue.ready:
			reuse = c.moveQueued(reuse)
		}
	}
}

// moveQueued hands all queued batches to the core. It takes them under
// the core's lock, so that whatever left the queue is in the core by the
// time anyone else (a Snapshot) holds the lock.
func (c *Collector) moveQueued(reuse [][]Span) [][]Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	batches := c.queue.take(reuse)
	for _, b := range batches {
		c.core.add(b)
	}
	clear(batches)
	return batches
}

// Snapshot ends the current tick and returns its latency, including
// every span accepted so far: the observation pipeline calls it once per
// tick, and the core counts those calls as its clock (it reads no clock
// of its own).
func (c *Collector) Snapshot() Snapshot {
	c.moveQueued(nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.snapshot()
}

// RecentTraces lists up to limit of app's latest finished traces, newest
// first (limit ≤ 0: all that are kept).
func (c *Collector) RecentTraces(app string, limit int) []TraceSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.recentTraces(app, limit)
}

// ingest queues decoded spans and counts each one: received, and either
// kept or dropped as invalid or for a full queue. It returns how many
// were rejected, for OTLP's partial-success answer.
func (c *Collector) ingest(receiver string, spans []Span, invalid int) (rejected int) {
	c.counters[receiver].received.Add(float64(len(spans) + invalid))
	if invalid > 0 {
		c.metrics.dropped.WithLabelValues(DropInvalid).Add(float64(invalid))
	}
	kept := c.queue.push(spans)
	if full := len(spans) - kept; full > 0 {
		c.metrics.dropped.WithLabelValues(DropQueueFull).Add(float64(full))
	}
	return invalid + len(spans) - kept
}

func (c *Collector) decodeError(receiver string, err error) {
	c.counters[receiver].decodeErrors.Inc()
	c.logger.Debug("malformed trace data", "receiver", receiver, "err", err)
}

// forward hands an OTLP request to the forwarder, if there is one.
func (c *Collector) forward(req *coltracepb.ExportTraceServiceRequest, spans int) {
	if c.forwarder != nil {
		c.forwarder.enqueue(req, spans)
	}
}

var receiverNames = []string{ReceiverOTLPGRPC, ReceiverOTLPHTTP, ReceiverJaegerCompact, ReceiverJaegerBinary}

// AnyFreePorts is IntakeConfig.Ports for receivers on whatever ports are
// free, for a process that tells its containers where they listen
// (Intake.Env) and must not depend on the standard ports being free.
func AnyFreePorts() map[string]int {
	ports := map[string]int{}
	for _, name := range receiverNames {
		ports[name] = 0
	}
	return ports
}
