package sensors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-io/sluice/state"
)

// HeartbeatConfig describes the node's registration.
type HeartbeatConfig struct {
	// Info is written under Keys.Node(Info.Name); Name is required.
	Info state.NodeInfo
	// TTL is the lease's time to live, in whole seconds [10s]. The node is
	// declared lost once it has not renewed for that long.
	TTL     time.Duration
	Metrics *Metrics
	Logger  *slog.Logger
}

// Heartbeat keeps the node's registration key on a lease: Register writes
// it, Renew keeps the lease alive (and registers again on a new lease when
// the old one is gone), and Run does both on a timer and revokes the lease
// when its context ends, so a graceful shutdown deletes the key at once.
type Heartbeat struct {
	store   state.Store
	info    []byte
	key     string
	ttl     time.Duration
	metrics *Metrics
	logger  *slog.Logger

	mu    sync.Mutex
	lease int64
}

// NewHeartbeat checks the configuration.
func NewHeartbeat(store state.Store, config HeartbeatConfig) (*Heartbeat, error) {
	if config.Info.Name == "" {
		return nil, errors.New("heartbeat: Info.Name is required")
	}
	if config.TTL == 0 {
		config.TTL = 10 * time.Second
	}
	if config.TTL < time.Second || config.TTL%time.Second != 0 {
		return nil, fmt.Errorf("heartbeat: TTL %v must be whole seconds, at least 1", config.TTL)
	}
	info, err := json.Marshal(config.Info)
	if err != nil {
		return nil, fmt.Errorf("heartbeat: encode node info: %w", err)
	}
	if config.Metrics == nil {
		config.Metrics = NewMetrics(nil)
	}
	if config.Logger == nil {
		config.Logger = slog.New(slog.DiscardHandler)
	}
	return &Heartbeat{
		store: store, info: info, key: state.Keys.Node(config.Info.Name), ttl: config.TTL,
		metrics: config.Metrics, logger: config.Logger.With("sensor", "heartbeat", "node", config.Info.Name),
	}, nil
}

// Lease is the lease the registration is on, 0 before Register.
func (h *Heartbeat) Lease() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

// Register grants a lease and writes the registration on it.
func (h *Heartbeat) Register(ctx context.Context) error {
	lease, err := h.store.Grant(ctx, int64(h.ttl/time.Second))
	if err != nil {
		return fmt.Errorf("register %s: grant lease: %w", h.key, err)
	}
	if _, err := h.store.Txn(ctx, state.Op{Key: h.key, Value: h.info, Lease: lease}); err != nil {
		// The lease would otherwise linger until its TTL with no key.
		_ = h.store.Revoke(ctx, lease)
		return fmt.Errorf("register %s: put: %w", h.key, err)
	}
	h.mu.Lock()
	h.lease = lease
	h.mu.Unlock()
	h.metrics.registrations.Inc()
	h.logger.Info("registered", "lease", lease, "ttl", h.ttl)
	return nil
}

// Renew keeps the lease alive. When that fails (the lease expired while
// the store was out of reach, or was never granted) it registers afresh:
// a node that comes back announces itself again.
func (h *Heartbeat) Renew(ctx context.Context) error {
	lease := h.Lease()
	if lease != 0 {
		err := h.store.KeepAlive(ctx, lease)
		if err == nil {
			return nil
		}
		h.metrics.keepAliveFails.Inc()
		h.logger.Warn("lease renewal failed; registering again", "lease", lease, "err", err)
	}
	return h.Register(ctx)
}

// Run registers (unless Register already did), renews every TTL/3 until
// ctx ends, then revokes the lease. Failures are logged and retried at the
// next renewal: the node keeps running while the store is away.
func (h *Heartbeat) Run(ctx context.Context) error {
	if err := h.Renew(ctx); err != nil {
		h.logger.Warn("registration failed; retrying", "err", err)
	}
	ticker := time.NewTicker(h.ttl / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return h.revoke(context.WithoutCancel(ctx))
		case <-ticker.C:
			if err := h.Renew(ctx); err != nil && ctx.Err() == nil {
				h.logger.Warn("heartbeat failed", "err", err)
			}
		}
	}
}

func (h *Heartbeat) revoke(ctx context.Context) error {
	lease := h.Lease()
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.store.Revoke(ctx, lease); err != nil {
		return fmt.Errorf("revoke lease %d of %s: %w", lease, h.key, err)
	}
	h.mu.Lock()
	h.lease = 0
	h.mu.Unlock()
	return nil
}
