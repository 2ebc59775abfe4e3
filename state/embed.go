package state

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Defaults of EmbeddedConfig: etcd's own ports, on loopback only.
const (
	DefaultClientURL    = "http://127.0.0.1:2379"
	DefaultPeerURL      = "http://127.0.0.1:2380"
	DefaultEmbeddedName = "sluice"
	DefaultReadyTimeout = time.Minute
)

// EmbeddedConfig configures the single-node etcd server that sluice starts
// when no external cluster is given.
type EmbeddedConfig struct {
	// DataDir holds the server's data; it survives restarts. Required.
	DataDir string
	// ClientURL is where clients (sluice, etcdctl) connect: http:// on
	// loopback, or https:// with TLS anywhere. PeerURL is the raft port a
	// single node still binds, on loopback. Port 0 picks a free port.
	ClientURL string
	PeerURL   string
	// TLS secures the client port; ClientTLS is what the server's own
	// clients (Client) present to it.
	TLS       ServerTLS
	ClientTLS ClientTLS
	// Name is the member's name.
	Name string
	// Logger receives etcd's warnings and errors, and at debug level each
	// compaction and defragmentation; nil discards them. etcd
	// logs a great deal at info level, none of which a sluice user needs.
	Logger *slog.Logger
	// ReadyTimeout bounds the wait for the server to serve.
	ReadyTimeout time.Duration
	// History is how much of the event log etcd keeps when it compacts:
	// DefaultRetention when zero. A node writes an observation and a decision
	// every tick; uncompacted, their history grows the database and the
	// agent's memory without bound, until etcd runs out of space and
	// refuses every write. After a compaction the server defragments its
	// database when that frees enough space (see defragmenter).
	History Retention
}

func (cfg EmbeddedConfig) history() Retention { return cmp.Or(cfg.History, DefaultRetention) }

// Embedded is a running single-node etcd server.
type Embedded struct {
	etcd      *embed.Etcd
	endpoints []string
	clientTLS ClientTLS
	zap       *zap.Logger
	closing   *atomic.Bool
	defrag    *defragmenter
}

// StartEmbedded starts the server and returns once it serves clients, or
// fails after cfg.ReadyTimeout.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	closing := new(atomic.Bool)
	etcdCfg, zapLogger, err := embedConfig(cfg, closing)
	if err != nil {
		return nil, err
	}
	server, err := embed.StartEtcd(etcdCfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.DataDir, err)
	}
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	select {
	case <-server.Server.ReadyNotify():
	case err := <-server.Err():
		server.Close()
		return nil, fmt.Errorf("embedded etcd in %s failed while starting: %w", cfg.DataDir, err)
	case <-time.After(timeout):
		server.Close()
		return nil, fmt.Errorf("embedded etcd in %s: not ready after %v", cfg.DataDir, timeout)
	}
	endpoints := make([]string, len(etcdCfg.AdvertiseClientUrls))
	for i, u := range etcdCfg.AdvertiseClientUrls {
		endpoints[i] = u.String()
	}
	logger := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	defrag := startDefragmenter(server.Server, cfg.history().CheckEvery(), logger)
	return &Embedded{etcd: server, endpoints: endpoints, clientTLS: cfg.ClientTLS, zap: zapLogger, closing: closing, defrag: defrag}, nil
}

func embedConfig(cfg EmbeddedConfig, closing *atomic.Bool) (*embed.Config, *zap.Logger, error) {
	if cfg.DataDir == "" {
		return nil, nil, errors.New("embedded etcd: a data dir is required")
	}
	secured := !cfg.TLS.Empty()
	if secured {
		if err := cfg.TLS.check(); err != nil {
			return nil, nil, err
		}
	}
	clientURL, err := listenURL("client", cfg.ClientURL, DefaultClientURL, secured)
	if err != nil {
		return nil, nil, err
	}
	// A lone member has no peer to talk to: its peer port never needs to
	// be reachable, so it is never secured.
	peerURL, err := listenURL("peer", cfg.PeerURL, DefaultPeerURL, false)
	if err != nil {
		return nil, nil, err
	}
	etcdCfg := embed.NewConfig()
	etcdCfg.Name = cfg.Name
	if etcdCfg.Name == "" {
		etcdCfg.Name = DefaultEmbeddedName
	}
	etcdCfg.Dir = cfg.DataDir
	etcdCfg.ListenClientUrls = []url.URL{*clientURL}
	etcdCfg.AdvertiseClientUrls = []url.URL{*clientURL}
	etcdCfg.ClientTLSInfo = cfg.TLS.info()
	etcdCfg.ClientAutoTLS = false
	etcdCfg.ListenPeerUrls = []url.URL{*peerURL}
	etcdCfg.AdvertisePeerUrls = []url.URL{*peerURL}
	etcdCfg.InitialCluster = etcdCfg.InitialClusterFromName(etcdCfg.Name)
	// A lone member has no peer to send heartbeats to, yet raft ticks the
	// leader every TickMs to send them, and each tick wakes the agent's
	// scheduler. It ticks every 500 ms, with the election timeout etcd
	// requires at five ticks: a lone member then elects itself about a
	// second after it starts (0.3 s at a 200 ms tick), and the shortest
	// lease etcd grants is 4 s, below the 10 s heartbeat TTL. The backend commits its
	// batch once a second instead of ten times; the WAL, synced on every
	// write, is what makes a write durable. Against a 200 ms tick this took
	// 0.17-0.20 points off an idle agent's CPU (docs/benchmarks.md).
	etcdCfg.TickMs = 500
	etcdCfg.ElectionMs = 2500
	etcdCfg.BackendBatchInterval = time.Second
	// A lone member has no follower to catch up, yet etcd keeps the last
	// 5,000 raft entries in memory for one, and a restart replays up to
	// 10,000 from the WAL since the last snapshot: at two writes a second
	// of 4-8 KB that is 30 and 60 MB of the agent's memory, whatever the
	// history kept. Snapshotting every 1,000 entries and keeping 100 bounds
	// both to a few MB (BenchmarkAgentHistoryRSS).
	etcdCfg.SnapshotCount = 100
	etcdCfg.SnapshotCatchUpEntries = 100
	history := cfg.history()
	if err := history.validate(); err != nil {
		return nil, nil, fmt.Errorf("embedded etcd history %v: %w", history, err)
	}
	etcdCfg.AutoCompactionMode, etcdCfg.AutoCompactionRetention = history.AutoCompaction()
	zapLogger := zapToSlog(cfg.Logger, closing)
	etcdCfg.Logger = "zap"
	etcdCfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapLogger)
	return etcdCfg, zapLogger, nil
}

// listenURL parses a URL, checks that it is https exactly when the port
// is secured and that plain HTTP stays on loopback, and replaces port 0 by
// a free port, because etcd must advertise the port it listens on. Another
// process could take the port between the probe and etcd's bind; the start
// then fails cleanly.
func listenURL(which, raw, fallback string, secured bool) (*url.URL, error) {
	if raw == "" {
		raw = fallback
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd %s URL %q: %w", which, raw, err)
	}
	scheme := "http"
	if secured {
		scheme = "https"
	}
	if u.Scheme != scheme || u.Port() == "" {
		return nil, fmt.Errorf("embedded etcd %s URL %q: want %s://host:port", which, raw, scheme)
	}
	if err := checkExposure(which, u, secured); err != nil {
		return nil, err
	}
	if u.Port() != "0" {
		return u, nil
	}
	probe, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		return nil, fmt.Errorf("embedded etcd %s URL %q: find a free port: %w", which, raw, err)
	}
	u.Host = probe.Addr().String()
	probe.Close()
	return u, nil
}

// Endpoints are the client URLs to give clientv3 or `etcdctl --endpoints`.
func (e *Embedded) Endpoints() []string { return append([]string(nil), e.endpoints...) }

// Client connects a new client to the server; the caller closes it.
func (e *Embedded) Client() (*clientv3.Client, error) {
	return Dial(ClientConfig{Endpoints: e.endpoints, TLS: e.clientTLS, Logger: e.zap})
}

// Err reports a failure of the running server.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops the server and waits for it to let go of its data dir. Later
// calls do nothing, so a test can stop the server midway and still leave
// the cleanup to close it.
func (e *Embedded) Close() error {
	if e.closing.Swap(true) {
		return nil
	}
	e.defrag.Stop()
	e.etcd.Close()
	return nil
}
