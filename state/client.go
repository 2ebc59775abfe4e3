package state

import (
	"cmp"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// DefaultDialTimeout bounds the calls a client makes on its own while it
// starts (an auth token, the cluster version).
const DefaultDialTimeout = 5 * time.Second

// ClientConfig says which etcd members a client talks to.
type ClientConfig struct {
	// Endpoints are the members' client URLs. Give every member: the client
	// balances over the reachable ones, so one member down costs nothing.
	Endpoints []string
	// DialTimeout is DefaultDialTimeout when zero. A client's calls are
	// bounded by their own contexts, not by it.
	DialTimeout time.Duration
	// Logger receives the client's own logs; nil discards them.
	Logger *zap.Logger
	// TLS secures the connections; empty is plain HTTP.
	TLS ClientTLS
	// DialOptions are added after sluice's own: a stats handler that
	// counts what the client receives (BenchmarkAgentReads) goes here.
	DialOptions []grpc.DialOption
}

// Reconnect and liveness settings of every client sluice opens. gRPC's
// defaults back off exponentially up to two minutes between connection
// attempts, so after a long outage a client found its returned etcd only
// tens of seconds later, and every call in between waited or failed.
const (
	// reconnectMaxDelay caps the wait between connection attempts to a
	// member that is down. With gRPC's 20 % jitter a client tries again
	// within 1.2 s, so it acts on the store again about a second after its
	// member returns. A refused connection costs the member nothing, and an
	// agent talks to a handful of members, so trying this often is cheap.
	reconnectMaxDelay = time.Second
	// reconnectBaseDelay is the wait after the first failure: short, for
	// a member that restarts at once (a rolling upgrade).
	reconnectBaseDelay = 100 * time.Millisecond
	// connectTimeout bounds one connection attempt, gRPC's
	// MinConnectTimeout (20 s by default). It matters only for a member
	// whose host drops packets instead of refusing: the client gives up on
	// that attempt and tries again rather than waiting on it. A handshake
	// on the networks sluice runs on takes milliseconds.
	connectTimeout = 3 * time.Second
	// keepAliveTime is how long a connection may be silent before the
	// client pings the member: a member whose host froze or was cut off
	// closes no connection, so without pings a watch would wait on it
	// forever. 10 s is the shortest gRPC allows, and above the 5 s that
	// etcd (GRPCKeepAliveMinTime) accepts between pings.
	keepAliveTime = 10 * time.Second
	// keepAliveTimeout is how long the client waits for the ping's answer
	// before it drops the connection and reconnects, possibly to another
	// member: a dead member is noticed within 13 s.
	keepAliveTimeout = 3 * time.Second
)

// Dial creates a client for the members in cfg. It does not wait for them:
// a call made while no member answers waits for one until its context ends.
// The caller closes the client.
//
// Settings left at etcd's defaults, on purpose: pings only while a call or
// watch is open (etcd refuses pings on an idle connection); unary calls
// retried on another member when one is unavailable; no endpoint auto-sync,
// so the client uses the URLs the operator gave, not those the members
// advertise.
func Dial(cfg ClientConfig) (*clientv3.Client, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	tlsConfig, err := cfg.TLS.config()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		TLS:                  tlsConfig,
		DialTimeout:          cmp.Or(cfg.DialTimeout, DefaultDialTimeout),
		DialKeepAliveTime:    keepAliveTime,
		DialKeepAliveTimeout: keepAliveTimeout,
		DialOptions: append([]grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  reconnectBaseDelay,
				Multiplier: backoff.DefaultConfig.Multiplier,
				Jitter:     backoff.DefaultConfig.Jitter,
				MaxDelay:   reconnectMaxDelay,
			},
			MinConnectTimeout: connectTimeout,
		})}, cfg.DialOptions...),
		Logger: logger,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd at %v: %w", cfg.Endpoints, err)
	}
	return cli, nil
}
