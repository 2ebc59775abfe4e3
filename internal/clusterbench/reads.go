package clusterbench

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/stats"
)

// ReadCounter is a gRPC stats handler that counts what etcd clients
// receive while it is on: the wire length of every message (gRPC framing
// and payload) and of the HTTP/2 header and trailer frames, by call; and
// the events of the watch responses, by the prefix their key falls under.
// Give it to state.ClientConfig.DialOptions with grpc.WithStatsHandler.
type ReadCounter struct {
	prefixes []string

	mu          sync.Mutex
	on          bool
	since       time.Time
	bytes       map[string]int64 // by method
	events      map[string]int64 // by prefix
	eventsBytes map[string]int64 // by prefix, keys and values
}

var _ stats.Handler = (*ReadCounter)(nil)

type methodKey struct{}

// NewReadCounter counts watch events by the first of prefixes their key
// has, "(other)" for none.
func NewReadCounter(prefixes []string) *ReadCounter {
	return &ReadCounter{prefixes: prefixes}
}

// Start begins a stretch, forgetting what came before.
func (c *ReadCounter) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on, c.since = true, time.Now()
	c.bytes, c.events, c.eventsBytes = map[string]int64{}, map[string]int64{}, map[string]int64{}
}

// ReadCount is what a ReadCounter counted over one stretch.
type ReadCount struct {
	Seconds, Bytes, Events float64
	// ByMethod is bytes by gRPC method; ByPrefix events and PrefixBytes
	// their keys' and values' bytes, by prefix.
	ByMethod, ByPrefix, PrefixBytes map[string]int64
}

// Stop ends the stretch and returns its counts.
func (c *ReadCounter) Stop() ReadCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	got := ReadCount{Seconds: time.Since(c.since).Seconds(), ByMethod: c.bytes, ByPrefix: c.events, PrefixBytes: c.eventsBytes}
	for _, n := range c.bytes {
		got.Bytes += float64(n)
	}
	for _, n := range c.events {
		got.Events += float64(n)
	}
	return got
}

func (c *ReadCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, methodKey{}, info.FullMethodName)
}

func (c *ReadCounter) HandleRPC(ctx context.Context, s stats.RPCStats) {
	var wire int
	switch s := s.(type) {
	case *stats.InHeader:
		wire = s.WireLength
	case *stats.InTrailer:
		wire = s.WireLength
	case *stats.InPayload:
		wire = s.WireLength
		if resp, ok := s.Payload.(*etcdserverpb.WatchResponse); ok {
			c.countEvents(resp)
		}
	default:
		return
	}
	method, _ := ctx.Value(methodKey{}).(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.bytes[method] += int64(wire)
	}
}

func (c *ReadCounter) countEvents(resp *etcdserverpb.WatchResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	for _, ev := range resp.Events {
		prefix := c.prefixOf(string(ev.Kv.Key))
		c.events[prefix]++
		c.eventsBytes[prefix] += int64(len(ev.Kv.Key) + len(ev.Kv.Value))
	}
}

func (c *ReadCounter) prefixOf(key string) string {
	for _, p := range c.prefixes {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return "(other)"
}

func (c *ReadCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c *ReadCounter) HandleConn(context.Context, stats.ConnStats)                       {}
