// Package clusterbench measures sluice on a cluster: an etcd cluster of
// member processes (internal/etcdcluster) and many simulated nodes, each
// the real agent code on the simulated runtime, all agents in this
// process. `sluice bench cluster` runs it.
package clusterbench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/procfs"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/internal/etcdcluster"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
)

// Config is one run.
type Config struct {
	Nodes    int
	Members  int
	Interval time.Duration
	// Duration is the measured stretch, after every app is ready.
	Duration time.Duration
	// Binary is the etcd server; Dir holds the members' data and logs.
	Binary, Dir string
	// History is the members' compaction schedule [state.DefaultRetention];
	// they are defragmented when that frees half their database.
	History state.Retention
	// ReadyTimeout bounds the wait for every app to be ready [10 min].
	ReadyTimeout time.Duration
	// Progress receives a line at each stage and every ten seconds.
	Progress io.Writer
}

// Latency is a distribution in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Span is a value at the start and the end of the stretch, and the
// largest of the samples taken every ten seconds in between.
type Span struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Max   int64 `json:"max"`
}

// Result is what `sluice bench cluster -o json` prints.
type Result struct {
	Nodes           int     `json:"nodes"`
	EtcdMembers     int     `json:"etcd_members"`
	IntervalSeconds float64 `json:"interval_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`
	// TicksExpected is nodes × duration / interval; TicksObserved the
	// steps whose observation was written within the stretch.
	TicksExpected int `json:"ticks_expected"`
	TicksObserved int `json:"ticks_observed"`
	// DecisionLatencyMs is from an observation's write returning to the
	// policy step's outcome recorded on the view that holds it.
	DecisionLatencyMs             Latency `json:"decision_latency_ms"`
	PerNodeEtcdReadBytesPerSecond float64 `json:"per_node_etcd_read_bytes_per_second"`
	PerNodeEtcdWritesPerSecond    float64 `json:"per_node_etcd_writes_per_second"`
	PerNodeWatchEventsPerSecond   float64 `json:"per_node_watch_events_per_second"`
	EtcdDBBytes                   Span    `json:"etcd_db_bytes"`
	EtcdCPUCores                  float64 `json:"etcd_cpu_cores"`
	AgentsCPUCores                float64 `json:"agents_cpu_cores"`
	RSSBytes                      RSS     `json:"rss_bytes"`
}

// RSS is the resident memory at the end of the stretch: the members'
// summed, and the process of the agents.
type RSS struct {
	Etcd   int64 `json:"etcd"`
	Agents int64 `json:"agents"`
}

func (cfg *Config) defaults() {
	cfg.Members = max(cfg.Members, 1)
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
}

// Run starts the cluster and the nodes, waits for every app to be ready,
// measures for cfg.Duration and stops everything.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.defaults()
	b := &bench{cfg: cfg, counter: NewReadCounter(nil)}
	cluster, err := etcdcluster.Start(etcdcluster.Config{
		Binary: cfg.Binary, Dir: cfg.Dir, Members: cfg.Members, History: cfg.History,
	})
	if err != nil {
		return Result{}, err
	}
	defer cluster.Close()
	b.cluster = cluster
	b.progress("etcd: %d members at %v", cfg.Members, cluster.Endpoints())
	admin, err := state.Dial(state.ClientConfig{Endpoints: cluster.Endpoints()})
	if err != nil {
		return Result{}, err
	}
	defer admin.Close()
	b.admin = state.NewEtcdStore(admin)
	defer b.admin.Close()
	var defrag sync.WaitGroup
	defer defrag.Wait()
	defragCtx, stopDefrag := context.WithCancel(ctx)
	defer stopDefrag()
	defrag.Go(func() {
		state.DefragmentMembers(defragCtx, admin, cluster.Endpoints(),
			cmp.Or(cfg.History, state.DefaultRetention).CheckEvery(), slog.New(slog.DiscardHandler))
	})
	return b.run(ctx, admin)
}

type bench struct {
	cfg     Config
	cluster *etcdcluster.Cluster
	admin   *state.EtcdStore
	counter *ReadCounter

	mu        sync.Mutex
	measuring bool
	ticks     int
	latencies []time.Duration
}

func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.cfg.Progress, format+"\n", args...)
}

func (b *bench) run(ctx context.Context, admin *clientv3.Client) (Result, error) {
	nodes := make([]string, b.cfg.Nodes)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("node-%04d", i+1)
	}
	ops, err := PinOps(nodes)
	if err != nil {
		return Result{}, err
	}
	putCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = state.TxnBatched(putCtx, b.admin, ops, func([]state.Op, int64) {})
	cancel()
	if err != nil {
		return Result{}, fmt.Errorf("pin the apps: %w", err)
	}
	agentsCtx, stopAgents := context.WithCancel(ctx)
	group, agentsCtx := errgroup.WithContext(agentsCtx)
	defer func() {
		stopAgents()
		_ = group.Wait()
	}()
	b.progress("starting %d agents", len(nodes))
	if err := b.startAgents(agentsCtx, group, nodes); err != nil {
		return Result{}, err
	}
	b.progress("%d agents started; waiting for their %d apps to be ready", len(nodes), len(ops))
	if err := b.waitReady(agentsCtx, nodes); err != nil {
		return Result{}, err
	}
	result, err := b.measure(agentsCtx, admin)
	if err != nil {
		return Result{}, err
	}
	if agentsCtx.Err() != nil {
		return Result{}, fmt.Errorf("an agent stopped: %w", context.Cause(agentsCtx))
	}
	return result, nil
}

// startAgents starts one agent per node, each with its own etcd client as
// on a machine of its own. Clients shared between agents would share their
// watch streams, and every agent's progress requests would reach the
// watches of all the others.
func (b *bench) startAgents(ctx context.Context, group *errgroup.Group, nodes []string) error {
	for i, node := range nodes {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		cli, err := state.Dial(state.ClientConfig{
			Endpoints: b.cluster.Endpoints(), DialOptions: []grpc.DialOption{grpc.WithStatsHandler(b.counter)},
		})
		if err != nil {
			return err
		}
		etcdStore := state.NewEtcdStore(cli)
		group.Go(func() error {
			<-ctx.Done()
			etcdStore.Close()
			return cli.Close()
		})
		store := state.Bounded(etcdStore, state.DefaultCallTimeout)
		// Nodes on their own machines tick in no particular phase; started
		// at once, these would all tick at the same instant and queue for
		// this machine's cores. Their starts spread over one interval.
		offset := time.Duration(i) * b.cfg.Interval / time.Duration(len(nodes))
		if err := b.startAgent(ctx, group, store, node, offset); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) startAgent(ctx context.Context, group *errgroup.Group, store state.Store, node string, offset time.Duration) error {
	simNode, err := sim.NewNode(sim.NodeConfig{Name: node, CPUs: 2, Epoch: time.Now().UTC().Truncate(time.Second), Seed: 1})
	if err != nil {
		return err
	}
	a, err := agent.New(ctx, store, agent.NewSimNode(simNode, b.cfg.Interval),
		agent.Config{Node: node, Interval: b.cfg.Interval, Logger: slog.New(slog.DiscardHandler)},
		agent.WithHooks(agent.Hooks{Stepped: b.stepped}))
	if err != nil {
		return err
	}
	group.Go(func() error {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(offset):
		}
		if err := a.Run(ctx); err != nil {
			return fmt.Errorf("the agent of %s: %w", node, err)
		}
		return nil
	})
	return nil
}

func (b *bench) stepped(_ agent.StepResult, latency time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.measuring {
		b.ticks++
		b.latencies = append(b.latencies, latency)
	}
}

// waitReady waits until every node's apps are ready.
func (b *bench) waitReady(ctx context.Context, nodes []string) error {
	deadline := time.Now().Add(b.cfg.ReadyTimeout)
	want := len(nodes) * len(NodeApps())
	for {
		ready, err := b.readyApps(ctx)
		if err != nil {
			return err
		}
		b.progress("%d of %d apps ready", ready, want)
		if ready == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, %d of %d apps are ready", b.cfg.ReadyTimeout, ready, want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("an agent stopped before every app was ready: %w", context.Cause(ctx))
		case <-time.After(5 * time.Second):
		}
	}
}

func (b *bench) readyApps(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cluster, err := state.LoadCluster(ctx, b.admin)
	if err != nil {
		return 0, err
	}
	ready := 0
	for _, view := range cluster.Views {
		for _, status := range view.Statuses {
			if status.Phase == state.Ready {
				ready++
			}
		}
	}
	return ready, nil
}

// measure counts the stretch and returns its result.
func (b *bench) measure(ctx context.Context, admin *clientv3.Client) (Result, error) {
	startDB, err := b.dbSize(ctx, admin)
	if err != nil {
		return Result{}, err
	}
	startRev, err := b.revision(ctx)
	if err != nil {
		return Result{}, err
	}
	maxDB := startDB
	startEtcdCPU, startSelfCPU := b.etcdCPU(), selfCPU()
	b.mu.Lock()
	b.measuring = true
	b.mu.Unlock()
	b.counter.Start()
	began := time.Now()
	b.progress("measuring for %v", b.cfg.Duration)
	for elapsed := time.Duration(0); elapsed < b.cfg.Duration; elapsed = time.Since(began) {
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("an agent stopped: %w", context.Cause(ctx))
		case <-time.After(min(10*time.Second, b.cfg.Duration-elapsed)):
		}
		size, err := b.dbSize(ctx, admin)
		if err != nil {
			return Result{}, err
		}
		maxDB = max(maxDB, size)
		b.mu.Lock()
		b.progress("%3.0fs: %d ticks observed, etcd database %.1f MB", time.Since(began).Seconds(), b.ticks, float64(size)/1e6)
		b.mu.Unlock()
	}
	reads := b.counter.Stop()
	b.mu.Lock()
	b.measuring = false
	ticks, latencies := b.ticks, slices.Clone(b.latencies)
	b.mu.Unlock()
	seconds := reads.Seconds
	endRev, err := b.revision(ctx)
	if err != nil {
		return Result{}, err
	}
	endDB, err := b.dbSize(ctx, admin)
	if err != nil {
		return Result{}, err
	}
	n := float64(b.cfg.Nodes)
	etcdRSS, agentsRSS := b.rss()
	return Result{
		Nodes: b.cfg.Nodes, EtcdMembers: b.cfg.Members,
		IntervalSeconds: b.cfg.Interval.Seconds(), DurationSeconds: seconds,
		TicksExpected:                 int(n * seconds / b.cfg.Interval.Seconds()),
		TicksObserved:                 ticks,
		DecisionLatencyMs:             distribution(latencies),
		PerNodeEtcdReadBytesPerSecond: reads.Bytes / n / seconds,
		PerNodeEtcdWritesPerSecond:    float64(endRev-startRev) / n / seconds,
		PerNodeWatchEventsPerSecond:   reads.Events / n / seconds,
		EtcdDBBytes:                   Span{Start: startDB, End: endDB, Max: max(maxDB, endDB)},
		EtcdCPUCores:                  (b.etcdCPU() - startEtcdCPU) / seconds,
		AgentsCPUCores:                (selfCPU() - startSelfCPU) / seconds,
		RSSBytes:                      RSS{Etcd: etcdRSS, Agents: agentsRSS},
	}, nil
}

func (b *bench) revision(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, rev, err := b.admin.Get(ctx, state.Root)
	return rev, err
}

// dbSize is the largest database of the members.
func (b *bench) dbSize(ctx context.Context, admin *clientv3.Client) (int64, error) {
	var largest int64
	for _, endpoint := range b.cluster.Endpoints() {
		statusCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		status, err := admin.Status(statusCtx, endpoint)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("status of etcd member %s: %w", endpoint, err)
		}
		largest = max(largest, status.DbSize)
	}
	return largest, nil
}

// etcdCPU is the CPU seconds the members have used.
func (b *bench) etcdCPU() float64 {
	var seconds float64
	for _, pid := range b.cluster.PIDs() {
		if stat, err := procStat(pid); err == nil {
			seconds += stat.CPUTime()
		}
	}
	return seconds
}

func (b *bench) rss() (etcd, agents int64) {
	for _, pid := range b.cluster.PIDs() {
		if stat, err := procStat(pid); err == nil {
			etcd += int64(stat.ResidentMemory())
		}
	}
	if stat, err := procStat(os.Getpid()); err == nil {
		agents = int64(stat.ResidentMemory())
	}
	return etcd, agents
}

func selfCPU() float64 {
	stat, err := procStat(os.Getpid())
	if err != nil {
		return math.NaN()
	}
	return stat.CPUTime()
}

func procStat(pid int) (procfs.ProcStat, error) {
	proc, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStat{}, err
	}
	return proc.Stat()
}

// distribution summarises latencies in milliseconds.
func distribution(latencies []time.Duration) Latency {
	if len(latencies) == 0 {
		return Latency{}
	}
	slices.Sort(latencies)
	at := func(q float64) float64 {
		i := min(len(latencies)-1, int(math.Ceil(q*float64(len(latencies))))-1)
		return float64(latencies[max(i, 0)]) / float64(time.Millisecond)
	}
	return Latency{P50: at(0.50), P99: at(0.99), Max: at(1)}
}
