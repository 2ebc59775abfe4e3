package agent_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/internal/clusterbench"
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
	counter := clusterbench.NewReadCounter(state.FollowedPrefixes(measuredNode))
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
	counter.Start()
	time.Sleep(readsStretch)
	got := counter.Stop()
	writes := float64(storeRevision(b, othersStore)-firstRev) / got.Seconds
	logReads(b, got)
	b.Logf("%d nodes wrote %.0f times a second; this process used %.2f cores",
		len(nodes), writes, (processCPU(b)-firstCPU).Seconds()/got.Seconds)
	// Each node writes its observation every interval: fewer writes mean
	// the other agents are not running at their pace, and the load the
	// benchmark is about is missing.
	if writes < float64(len(nodes))/2 {
		b.Fatalf("%d nodes wrote only %.0f times a second", len(nodes), writes)
	}
	return readRates{bytesPerSecond: got.Bytes / got.Seconds, eventsPerSecond: got.Events / got.Seconds, storeWrites: writes}
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

// applyApps pins every node's apps to it, as `sluice apply` would.
func applyApps(b *testing.B, store state.Store, nodes []string) {
	ops, err := clusterbench.PinOps(nodes)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := state.TxnBatched(ctx, store, ops, func([]state.Op, int64) {}); err != nil {
		b.Fatal(err)
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
		for _, spec := range clusterbench.NodeApps() {
			if view == nil || view.Statuses[spec.Name].Phase != state.Ready {
				waiting = append(waiting, node+"/"+spec.Name)
			}
		}
	}
	return waiting
}

// logReads says where the reads came from.
func logReads(b *testing.B, got clusterbench.ReadCount) {
	for _, method := range slices.Sorted(maps.Keys(got.ByMethod)) {
		b.Logf("%-40s %10.0f bytes/s", method, float64(got.ByMethod[method])/got.Seconds)
	}
	for _, prefix := range slices.Sorted(maps.Keys(got.ByPrefix)) {
		b.Logf("watch %-34s %10.2f events/s %10.0f key+value bytes/s", prefix,
			float64(got.ByPrefix[prefix])/got.Seconds, float64(got.PrefixBytes[prefix])/got.Seconds)
	}
}
