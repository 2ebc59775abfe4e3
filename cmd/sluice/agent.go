package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/sensors"
	"github.com/sluice-io/sluice/state"
)

type agentOptions struct {
	node         string
	runtime      string
	dataDir      string
	clientURL    string
	peerURL      string
	history      state.Retention
	interval     time.Duration
	policyDir    string
	metricsAddr  string
	heartbeatTTL time.Duration
	simCPUs      int
	traces       bool
	// tracesHost, tracesPorts and tracesForward configure the trace
	// receivers (traces.IntakeConfig).
	tracesHost    string
	tracesPorts   map[string]int
	tracesForward string
	// hooks let tests and benchmarks watch the loop; never set by flags.
	hooks agentHooks
}

// agentHooks are called from the agent's loops as they work. Nil fields
// are skipped. Each runs on its loop's goroutine and must return quickly.
type agentHooks struct {
	// observationWriting is called as an observation is handed to the store.
	observationWriting func(obs state.Observation)
	// actionDone is called after the reconciler carried out an action, with
	// the view it acted on (whose decision holds the observation's time).
	actionDone func(action reconciler.Action, view *state.View)
}

func newAgentCommand(opts *globalOptions) *cobra.Command {
	ao := &agentOptions{}
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: sensors, policy step, reconciler and heartbeat",
		Long: `The agent runs the control loop of one node. By default it serves an
embedded etcd (data under --data-dir); with --etcd-endpoints it joins an
external cluster instead. --runtime auto manages Docker containers when an
engine answers, and otherwise runs a simulated node and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			external := cmd.Flags().Changed("etcd-endpoints")
			return runAgent(ctx, opts, ao, external)
		},
	}
	hostname, _ := os.Hostname()
	flags := cmd.Flags()
	flags.StringVar(&ao.node, "node", hostname, "this node's name")
	flags.StringVar(&ao.runtime, "runtime", "auto", "container runtime: auto, docker or sim")
	flags.StringVar(&ao.dataDir, "data-dir", ".sluice", "where the embedded etcd keeps its data")
	flags.StringVar(&ao.clientURL, "listen-client", defaultEndpoint, "the embedded etcd's client URL")
	flags.StringVar(&ao.peerURL, "listen-peer", state.DefaultPeerURL, "the embedded etcd's peer URL")
	ao.history = state.DefaultRetention
	flags.Var(&ao.history, "history", "how much of the event log the embedded etcd keeps: a duration (10m) or a number of revisions (2400); sluice record reads only what is kept")
	flags.DurationVar(&ao.interval, "interval", time.Second, "how often the node is observed")
	flags.StringVar(&ao.policyDir, "policy-dir", "policies", "the Rego policy directory (overridden by keys under /sluice/policies/)")
	flags.StringVar(&ao.metricsAddr, "metrics-addr", "127.0.0.1:9464", "where Prometheus metrics are served; empty to disable")
	flags.DurationVar(&ao.heartbeatTTL, "heartbeat-ttl", 10*time.Second, "the node's lease: its apps are lost after this long without a heartbeat")
	flags.IntVar(&ao.simCPUs, "sim-cpus", 2, "CPUs of the simulated node (--runtime sim)")
	flags.BoolVar(&ao.traces, "traces", true, "receive the containers' spans on the Docker bridge (OTLP 4317/4318, Jaeger 6831/6832 udp) and add their latency to observations")
	flags.StringVar(&ao.tracesHost, "traces-host", "", "address the trace receivers bind (default: the Docker bridge's gateway, which the node's containers reach)")
	flags.StringToIntVar(&ao.tracesPorts, "traces-ports", nil, "receiver ports other than the standard ones, as otlp_grpc=4317,otlp_http=4318,jaeger_compact=6831,jaeger_binary=6832 (0: any free port)")
	flags.StringVar(&ao.tracesForward, "traces-forward", "", "OTLP gRPC endpoint (host:port of a collector or Jaeger) that every received span is sent on to, unchanged; empty: none")
	return cmd
}

// agent is one running node agent: its store and the loops around it.
type agent struct {
	opts    *agentOptions
	logger  *slog.Logger
	store   state.Store
	node    nodeRuntime
	metrics *agentMetrics
}

func runAgent(ctx context.Context, opts *globalOptions, ao *agentOptions, external bool) error {
	// The reconciler names the node in its own records; the rest say it here.
	logger := opts.logger()
	store, closeStore, err := openAgentStore(opts, ao, external, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	metrics := newAgentMetrics()
	node, err := openRuntime(ctx, ao, metrics.registry, logger)
	if err != nil {
		return err
	}
	defer node.Close()
	a := &agent{opts: ao, logger: logger, store: store, node: node, metrics: metrics}
	logger.Info("agent started", "node", ao.node, "runtime", node.Name(), "etcd", storeDescription(opts, ao, external),
		"interval", ao.interval, "policy_dir", ao.policyDir, "metrics", ao.metricsAddr)
	err = a.run(ctx)
	logger.Info("agent stopped; containers keep running for the next agent to adopt", "node", ao.node)
	return err
}

func (a *agent) run(ctx context.Context) error {
	reloader, err := policies.NewReloader(ctx, a.opts.policyDir, a.logger)
	if err != nil {
		return err
	}
	heartbeat, err := sensors.NewHeartbeat(a.store, sensors.HeartbeatConfig{
		Info: a.node.Info(version), TTL: a.opts.heartbeatTTL, Metrics: a.metrics.sensors, Logger: a.logger,
	})
	if err != nil {
		return err
	}
	if err := heartbeat.Register(ctx); err != nil {
		return fmt.Errorf("register node %s: %w", a.opts.node, err)
	}
	group, ctx := errgroup.WithContext(ctx)
	group.Go(func() error { return heartbeat.Run(ctx) })
	group.Go(func() error { reloader.Run(ctx, 2*time.Second); return nil })
	group.Go(func() error { return a.decider(reloader).Run(ctx) })
	group.Go(func() error { return a.runner().Run(ctx) })
	group.Go(func() error { return a.observe(ctx) })
	group.Go(func() error { return a.node.Run(ctx, a.store) })
	group.Go(func() error {
		return sensors.NewLostNodeWatcher(a.store, time.Now, a.metrics.sensors, a.logger).Run(ctx)
	})
	if a.opts.metricsAddr != "" {
		group.Go(func() error { return a.metrics.serve(ctx, a.opts.metricsAddr, a.node.TraceHandler(), a.logger) })
	}
	return group.Wait()
}

func (a *agent) decider(reloader *policies.Reloader) *policies.Decider {
	return &policies.Decider{Store: a.store, Node: a.opts.node, Reloader: reloader,
		Logger: a.logger.With("component", "policies", "node", a.opts.node), Decided: a.metrics.decided}
}

// resyncEvery is how many intervals pass between the reconciler's safety
// resyncs. Specs, decisions and the runtime's events (die, oom) wake it at
// once; the resync only catches what no event reported, and each costs a
// listing and an inspect per container.
const resyncEvery = 30

func (a *agent) runner() *reconciler.Runner {
	return reconciler.NewRunner(reconciler.RunnerConfig{
		Node: a.opts.node, Store: a.store, Runtime: a.node.Runtime(), CPU: a.node.CPU(), Bandwidth: a.node.Bandwidth(),
		Clock: a.node.Clock(), Logger: a.logger, ResyncInterval: resyncEvery * a.opts.interval,
		NodeLost:   reconciler.LostWhenUnregistered(a.opts.node),
		ActionDone: a.opts.hooks.actionDone,
	})
}

// observe writes one observation per interval. The store writer buffers
// them while etcd is away (fail static) and flushes in order on return.
func (a *agent) observe(ctx context.Context) error {
	writer := sensors.NewStoreWriter(a.store, sensors.StoreWriterConfig{}, a.metrics.sensors, a.logger)
	ticker := time.NewTicker(a.opts.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			return ignoreUnreachable(writer.Flush(flushCtx))
		case <-ticker.C:
		}
		obs, err := a.node.Observe(ctx, a.opts.interval)
		if err != nil {
			a.logger.Warn("observation failed", "err", err)
			continue
		}
		if a.opts.hooks.observationWriting != nil {
			a.opts.hooks.observationWriting(obs)
		}
		if err := writer.Export(ctx, obs); err != nil {
			a.logger.Warn("observation buffered; the store is unreachable", "err", err)
		}
	}
}

// ignoreUnreachable keeps a shutdown clean when the store is already gone:
// what could not be flushed was counted as dropped.
func ignoreUnreachable(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// openAgentStore starts the embedded etcd, or connects to the external one.
func openAgentStore(opts *globalOptions, ao *agentOptions, external bool, logger *slog.Logger) (state.Store, func(), error) {
	if external {
		store, err := opts.openStore(context.Background())
		if err != nil {
			return nil, nil, err
		}
		return store, func() { store.Close() }, nil
	}
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: filepath.Join(ao.dataDir, "etcd"), ClientURL: ao.clientURL, PeerURL: ao.peerURL, Logger: logger,
		History: ao.history,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start the embedded etcd (is another agent running? --data-dir and --listen-client choose another): %w", err)
	}
	cli, err := server.Client()
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	store := state.NewEtcdStore(cli)
	return store, func() {
		store.Close()
		cli.Close()
		server.Close()
	}, nil
}

func storeDescription(opts *globalOptions, ao *agentOptions, external bool) string {
	if external {
		return fmt.Sprintf("external %v", opts.endpoints)
	}
	return fmt.Sprintf("embedded at %s, data in %s", ao.clientURL, filepath.Join(ao.dataDir, "etcd"))
}
