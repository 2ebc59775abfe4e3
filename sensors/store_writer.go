package sensors

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-io/sluice/state"
)

// StoreWriter is the exporter to the event log: one Txn per observation,
// under Keys.Observation(node). It fails static: while the store cannot be
// reached observations wait in a bounded buffer, and once it answers again
// they are written in the order they were taken. When the buffer is full
// the oldest is dropped and counted, because the policy acts on the newest.
type StoreWriter struct {
	store    state.Store
	capacity int
	timeout  time.Duration
	metrics  *Metrics
	logger   *slog.Logger

	mu      sync.Mutex
	pending []pendingObservation
	// lastRevision is the revision of the latest observation written.
	lastRevision int64
}

type pendingObservation struct {
	key   string
	value []byte
}

// StoreWriterConfig sizes the buffer. Zero values take the defaults in
// brackets.
type StoreWriterConfig struct {
	// Capacity is how many observations wait for the store at most [300,
	// five minutes at the default interval].
	Capacity int
	// WriteTimeout bounds one write, so a hung store never stalls a tick [2s].
	WriteTimeout time.Duration
}

// NewStoreWriter returns a writer to store.
func NewStoreWriter(store state.Store, config StoreWriterConfig, metrics *Metrics, logger *slog.Logger) *StoreWriter {
	if config.Capacity <= 0 {
		config.Capacity = 300
	}
	if config.WriteTimeout <= 0 {
		config.WriteTimeout = 2 * time.Second
	}
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &StoreWriter{store: store, capacity: config.Capacity, timeout: config.WriteTimeout,
		metrics: metrics, logger: logger.With("exporter", "store")}
}

// Export queues obs behind anything still buffered and writes what it
// can. It returns the revision obs was written at; an error means obs (and
// maybe older ones) are still buffered.
func (w *StoreWriter) Export(ctx context.Context, obs state.Observation) (int64, error) {
	value, err := json.Marshal(obs)
	if err != nil {
		return 0, fmt.Errorf("encode observation of %s: %w", obs.Node, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Make room by writing first: a store that is back takes the backlog
	// and nothing needs to be dropped.
	if len(w.pending) == w.capacity && w.flushLocked(ctx) != nil {
		w.pending = w.pending[1:]
		w.metrics.dropped.Inc()
		w.logger.Warn("observation buffer full: dropped the oldest", "capacity", w.capacity)
	}
	w.pending = append(w.pending, pendingObservation{key: state.Keys.Observation(obs.Node), value: value})
	err = w.flushLocked(ctx)
	return w.lastRevision, err
}

// Flush writes every buffered observation, oldest first, stopping at the
// first failure. The agent calls it once more on shutdown.
func (w *StoreWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked(ctx)
}

// Buffered is how many observations wait for the store.
func (w *StoreWriter) Buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

func (w *StoreWriter) flushLocked(ctx context.Context) error {
	defer func() { w.metrics.buffered.Set(float64(len(w.pending))) }()
	for len(w.pending) > 0 {
		next := w.pending[0]
		writeCtx, cancel := context.WithTimeout(ctx, w.timeout)
		// Same-key puts cannot share a Txn, so each buffered observation
		// is its own event, as it would have been had the store answered.
		rev, err := w.store.Txn(writeCtx, state.Put(next.key, next.value))
		cancel()
		if err != nil {
			w.metrics.writeFailures.Inc()
			return fmt.Errorf("write %s (%d buffered): %w", next.key, len(w.pending), err)
		}
		w.pending = w.pending[1:]
		w.lastRevision = rev
		w.metrics.written.Inc()
	}
	return nil
}
