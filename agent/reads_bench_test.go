package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// An agent's reads must not grow with the number of other nodes: it
// follows its own node's keys and the few cluster keys (docs/keyspace.md).
const (
	readsInterval = time.Second
	// readsSettle runs after every app is ready, so that the start-up
	// listings and the apps' first transitions are behind the measurement.
	readsSettle = 10 * time.Second
	// readsStretch holds whole periods of every app's demand (20 and 30 s),
	// so the measured node's own writes do not depend on where in them the
	// stretch starts.
	readsStretch = 60 * time.Second
	readsReady   = 5 * time.Minute
	// readsTarget is the most the reads may grow from one other node to a
	// hundred.
	readsTarget     = 1.2
	measuredNode    = "measured"
	readsSimCPUs    = 2
	readsManyOthers = 100
)

// readRates is what the measured agent's etcd client received, per second
// of the stretch.
type readRates struct {
	bytesPerSecond, eventsPerSecond float64
	// storeWrites is the rate of writes the store took from every node:
	// the load the measured agent must not see.
	storeWrites float64
}

// BenchmarkAgentReads runs the measured agent (one node of three apps, a
// simulated node at a 1 s interval) on an embedded etcd with one other
// node, then on a fresh one with a hundred, each other node a real agent
// with the same apps. Once every app is ready and 10 s have passed, it
// counts for 60 s what the measured agent's etcd client receives: bytes on
// the wire (gRPC frames, headers and trailers of every call and watch) and
// watch events. The ratio sub-benchmark divides the hundred by the one and
// fails above 1.2. One measurement per run, whatever b.N.
func BenchmarkAgentReads(b *testing.B) {
	measured := map[int]readRates{}
	for _, others := range []int{1, readsManyOthers} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			rates := measureReads(b, others)
			measured[others] = rates
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(rates.bytesPerSecond, "read-bytes/s")
			b.ReportMetric(rates.eventsPerSecond, "watch-events/s")
			b.ReportMetric(rates.storeWrites, "store-writes/s")
		})
	}
	b.Run("ratio", func(b *testing.B) {
		few, okFew := measured[1]
		many, okMany := measured[readsManyOthers]
		if !okFew || !okMany || few.bytesPerSecond == 0 || few.eventsPerSecond == 0 {
			b.Fatalf("needs both runs, with reads in each: got %+v", measured)
		}
		ratioBytes := many.bytesPerSecond / few.bytesPerSecond
		ratioEvents := many.eventsPerSecond / few.eventsPerSecond
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(ratioBytes, "ratio-bytes")
		b.ReportMetric(ratioEvents, "ratio-events")
		if ratioBytes > readsTarget || ratioEvents > readsTarget {
			b.Errorf("reads grew %.2fx in bytes and %.2fx in events from 1 to %d other nodes; target ≤ %.1f",
				ratioBytes, ratioEvents, readsManyOthers, readsTarget)
		}
	})
}

// measureReads runs the measured agent beside others other agents and
// returns its read rates over the stretch.
func measureReads(b *testing.B, others int) readRates {
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: b.TempDir(), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { server.Close() })
	counter := newReadCounter(state.FollowedPrefixes(measuredNode))
	measuredStore := openStore(b, server, grpc.WithStatsHandler(counter))
	// The other agents share one client: only the measured one is counted.
	othersStore := openStore(b, server)

	nodes := []string{measuredNode}
	for i := 1; i <= others; i++ {
		nodes = append(nodes, fmt.Sprintf("node-%03d", i))
	}
	applyApps(b, othersStore, nodes)
	ctx, cancel := context.WithCancel(context.Background())
	group, ctx := errgroup.WithContext(ctx)
	b.Cleanup(func() {
		cancel()
		if err := group.Wait(); err != nil {
			b.Errorf("an agent failed: %v", err)
		}
	})
	startAgent(ctx, b, group, measuredStore, measuredNode)
	for _, node := range nodes[1:] {
		startAgent(ctx, b, group, othersStore, node)
	}
	waitAllReady(ctx, b, othersStore, nodes)
	time.Sleep(readsSettle)
	if ctx.Err() != nil {
		b.Fatalf("an agent stopped: %v", context.Cause(ctx))
	}

	firstRev, firstCPU := storeRevision(b, othersStore), processCPU(b)
	counter.start()
	time.Sleep(readsStretch)
	got := counter.stop()
	writes := float64(storeRevision(b, othersStore)-firstRev) / got.seconds
	got.log(b)
	b.Logf("%d nodes wrote %.0f times a second; this process used %.2f cores",
		len(nodes), writes, (processCPU(b)-firstCPU).Seconds()/got.seconds)
	// Each node writes its observation every interval: fewer writes mean
	// the other agents are not running at their pace, and the load the
	// benchmark is about is missing.
	if writes < float64(len(nodes))/2 {
		b.Fatalf("%d nodes wrote only %.0f times a second", len(nodes), writes)
	}
	return readRates{bytesPerSecond: got.bytes / got.seconds, eventsPerSecond: got.events / got.seconds, storeWrites: writes}
}

// storeRevision is the store's current revision.
func storeRevision(b *testing.B, store state.Store) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, rev, err := store.Get(ctx, state.Root)
	if err != nil {
		b.Fatal(err)
	}
	return rev
}

// processCPU is the CPU time the process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

func openStore(b *testing.B, server *state.Embedded, opts ...grpc.DialOption) state.Store {
	cli, err := state.Dial(state.ClientConfig{Endpoints: server.Endpoints(), DialOptions: opts})
	if err != nil {
		b.Fatal(err)
	}
	store := state.NewEtcdStore(cli)
	b.Cleanup(func() {
		store.Close()
		cli.Close()
	})
	return store
}

// startAgent runs the agent of node, with the default config and the
// policy compiled into sluice, on a simulated node of its own.
func startAgent(ctx context.Context, b *testing.B, group *errgroup.Group, store state.Store, node string) {
	simNode, err := sim.NewNode(sim.NodeConfig{
		Name: node, CPUs: readsSimCPUs, Epoch: time.Now().UTC().Truncate(time.Second), Seed: 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(ctx, store, agent.NewSimNode(simNode, readsInterval), agent.Config{Node: node, Interval: readsInterval})
	if err != nil {
		b.Fatal(err)
	}
	group.Go(func() error {
		if err := a.Run(ctx); err != nil {
			return fmt.Errorf("the agent of %s: %w", node, err)
		}
		return nil
	})
}

// nodeApps is a realistic mix for one node: a latency-critical service
// and a CPU hog sharing CPU 0, and a batch job on CPU 1.
func nodeApps() []state.AppSpec {
	return []state.AppSpec{
		{Name: "web", Containers: []state.ContainerSpec{{
			Name: "server", Image: "sluice/sineload:dev", Class: state.LatencyCritical, CPUSet: "0",
			Demand: &state.DemandSpec{Kind: "sine", Base: 0.5, Amplitude: 0.3, PeriodSeconds: 20},
		}}},
		{Name: "hog", Containers: []state.ContainerSpec{{
			Name: "cpuhog", Image: "sluice/cpuhog:dev", Class: state.BestEffort, CPUSet: "0",
			Demand: &state.DemandSpec{Kind: "constant", Value: 1},
		}}},
		{Name: "batch", Containers: []state.ContainerSpec{{
			Name: "worker", Image: "sluice/cpuhog:dev", Class: state.BestEffort, CPUSet: "1",
			Demand: &state.DemandSpec{Kind: "square", Base: 0.5, Amplitude: 0.4, PeriodSeconds: 30},
		}}},
	}
}

// applyApps pins every node's apps to it, as `sluice apply` would.
func applyApps(b *testing.B, store state.Store, nodes []string) {
	var ops []state.Op
	for _, node := range nodes {
		for _, spec := range nodeApps() {
			spec.Node = node
			value, err := json.Marshal(spec)
			if err != nil {
				b.Fatal(err)
			}
			ops = append(ops, state.Put(state.Keys.App(node, spec.Name), value))
		}
	}
	batches, err := state.Batches(ops)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range batches {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := store.Txn(ctx, batch...)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// waitAllReady waits until every app of every node is ready, or fails
// when an agent has stopped, which ends the agents' ctx.
func waitAllReady(ctx context.Context, b *testing.B, store state.Store, nodes []string) {
	deadline := time.Now().Add(readsReady)
	for {
		if ctx.Err() != nil {
			b.Fatalf("an agent stopped before every app was ready: %v", context.Cause(ctx))
		}
		waiting := notReady(b, store, nodes)
		if len(waiting) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("after %v, %d apps are not ready, among them %v", readsReady, len(waiting), waiting[:min(len(waiting), 5)])
		}
		time.Sleep(2 * time.Second)
	}
}

// notReady names the apps of nodes that are not ready, as node/app.
func notReady(b *testing.B, store state.Store, nodes []string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cluster, err := state.LoadCluster(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	var waiting []string
	for _, node := range nodes {
		view := cluster.Views[node]
		for _, spec := range nodeApps() {
			if view == nil || view.Statuses[spec.Name].Phase != state.Ready {
				waiting = append(waiting, node+"/"+spec.Name)
			}
		}
	}
	return waiting
}

// readCounter is a gRPC stats handler that counts what one etcd client
// receives while it is on: the wire length of every message (gRPC framing
// and payload) and of the HTTP/2 header and trailer frames, by call; and
// the events of the watch responses, by the followed prefix their key
// falls under.
type readCounter struct {
	prefixes []string

	mu          sync.Mutex
	on          bool
	since       time.Time
	bytes       map[string]int64 // by method
	events      map[string]int64 // by prefix
	eventsBytes map[string]int64 // by prefix, keys and values
}

var _ stats.Handler = (*readCounter)(nil)

type methodKey struct{}

func newReadCounter(prefixes []string) *readCounter {
	return &readCounter{prefixes: prefixes}
}

func (c *readCounter) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on, c.since = true, time.Now()
	c.bytes, c.events, c.eventsBytes = map[string]int64{}, map[string]int64{}, map[string]int64{}
}

// readCount is what a readCounter counted over one stretch.
type readCount struct {
	seconds, bytes, events float64
	byMethod, byPrefix     map[string]int64
	prefixBytes            map[string]int64
}

func (c *readCounter) stop() readCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	got := readCount{seconds: time.Since(c.since).Seconds(), byMethod: c.bytes, byPrefix: c.events, prefixBytes: c.eventsBytes}
	for _, n := range c.bytes {
		got.bytes += float64(n)
	}
	for _, n := range c.events {
		got.events += float64(n)
	}
	return got
}

// log says where the reads came from.
func (got readCount) log(b *testing.B) {
	for _, method := range slices.Sorted(maps.Keys(got.byMethod)) {
		b.Logf("%-40s %10.0f bytes/s", method, float64(got.byMethod[method])/got.seconds)
	}
	for _, prefix := range slices.Sorted(maps.Keys(got.byPrefix)) {
		b.Logf("watch %-34s %10.2f events/s %10.0f key+value bytes/s", prefix,
			float64(got.byPrefix[prefix])/got.seconds, float64(got.prefixBytes[prefix])/got.seconds)
	}
}

func (c *readCounter) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, methodKey{}, info.FullMethodName)
}

func (c *readCounter) HandleRPC(ctx context.Context, s stats.RPCStats) {
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

func (c *readCounter) countEvents(resp *etcdserverpb.WatchResponse) {
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

func (c *readCounter) prefixOf(key string) string {
	for _, p := range c.prefixes {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return "(other)"
}

func (c *readCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c *readCounter) HandleConn(context.Context, stats.ConnStats)                       {}
