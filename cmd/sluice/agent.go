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

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
	"github.com/sluice-io/sluice/ui"
)

// tracesPortsExample shows --traces-ports with the standard ports.
const tracesPortsExample = "otlp_grpc=4317,otlp_http=4318,jaeger_compact=6831,jaeger_binary=6832"

type agentOptions struct {
	node          string
	runtime       string
	dataDir       string
	clientURL     string
	peerURL       string
	serverTLS     state.ServerTLS // secures the embedded etcd's client port
	history       state.Retention
	interval      time.Duration
	policyTimeout time.Duration
	policyDir     string
	metricsAddr   string
	heartbeatTTL  time.Duration
	// keepTerminated is agent.Config.TerminatedRetention.
	keepTerminated time.Duration
	simCPUs        int
	traces         bool
	// tracesHost, tracesPorts and tracesForward configure the trace
	// receivers (traces.IntakeConfig).
	tracesHost    string
	tracesPorts   map[string]int
	tracesForward string
	// claimContainers claims the node's containers for the store
	// (agent.Config.ClaimContainers).
	claimContainers bool
	// experimentsDir holds the experiment runs the agent's pages list.
	experimentsDir string
	// hooks let tests and benchmarks watch the loop; never set by flags.
	hooks agent.Hooks
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
	flags.StringVar(&ao.serverTLS.Cert, "etcd-server-cert", "", "serve the embedded etcd over https with this certificate (--listen-client https://...)")
	flags.StringVar(&ao.serverTLS.Key, "etcd-server-key", "", "the key of --etcd-server-cert")
	flags.StringVar(&ao.serverTLS.ClientCA, "etcd-client-ca", "", "accept only clients whose certificate this CA signed; the agent itself presents --etcd-cert")
	ao.history = state.DefaultRetention
	flags.Var(&ao.history, "history", "how much of the event log the embedded etcd keeps: a duration (5m) or a number of revisions (1200); sluice record reads only what is kept")
	flags.DurationVar(&ao.interval, "interval", time.Second, "how often the node is observed")
	flags.DurationVar(&ao.policyTimeout, "policy-timeout", 0, "how long one evaluation of the policy may run before it is cancelled and its bundle rejected (0: a quarter of --interval)")
	flags.StringVar(&ao.policyDir, "policy-dir", "", "a Rego policy directory to run, re-read when it changes (default: the policy built into sluice); keys under /sluice/policies/ (sluice policy push) override either")
	flags.StringVar(&ao.metricsAddr, "metrics-addr", "127.0.0.1:9464", "where Prometheus metrics and the web pages are served; empty to disable")
	flags.DurationVar(&ao.heartbeatTTL, "heartbeat-ttl", 10*time.Second, "the node's lease: its apps are lost after this long without a heartbeat")
	flags.DurationVar(&ao.keepTerminated, "keep-terminated", reconciler.DefaultTerminatedRetention, "how long a terminated app stays listed before its status is deleted (sluice delete app NAME purges it at once)")
	flags.IntVar(&ao.simCPUs, "sim-cpus", 2, "CPUs of the simulated node (--runtime sim)")
	flags.BoolVar(&ao.traces, "traces", true, "receive the containers' spans on the Docker bridge (OTLP 4317/4318, Jaeger 6831/6832 udp) and add their latency to observations")
	flags.StringVar(&ao.tracesHost, "traces-host", "", "address the trace receivers bind (default: the Docker bridge's gateway, which the node's containers reach)")
	flags.StringToIntVar(&ao.tracesPorts, "traces-ports", nil, "receiver ports other than the standard ones, as "+tracesPortsExample+" (0: any free port)")
	flags.BoolVar(&ao.claimContainers, "claim-containers", false, "take every container on this node as this store's, as `sluice node reset` does: adopt what the specs match, remove the rest")
	flags.StringVar(&ao.experimentsDir, "experiments-dir", "out", "experiment runs the web pages list (beside the metrics, at /experiments/); empty: none")
	flags.StringVar(&ao.tracesForward, "traces-forward", "", "OTLP gRPC endpoint (host:port of a collector or Jaeger) that every received span is sent on to, unchanged; empty: none")
	return cmd
}

func runAgent(ctx context.Context, opts *globalOptions, ao *agentOptions, external bool) error {
	logger := opts.logger()
	store, closeStore, err := openAgentStore(opts, ao, external, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	storeID, err := agent.StoreIdentity(ctx, store)
	if err != nil {
		return err
	}
	metrics := agent.NewMetrics()
	node, err := openNode(ctx, ao, storeID, metrics, logger)
	if err != nil {
		return err
	}
	defer node.Close()
	cfg := ao.config(logger)
	cfg.StoreID = storeID
	a, err := agent.New(ctx, store, node, cfg, agent.WithMetrics(metrics), agent.WithHooks(ao.hooks),
		agent.WithPages(ui.ForAgent(ao.experimentsDir)))
	if err != nil {
		return err
	}
	logger.Info("agent started", "node", ao.node, "runtime", node.Runtime(), "etcd", storeDescription(opts, ao, external), "store", storeID,
		"interval", ao.interval, "policy", policySource(ao.policyDir), "metrics", ao.metricsAddr, "traces", node.traces)
	err = a.Run(ctx)
	logger.Info("agent stopped; containers keep running for the next agent to adopt", "node", ao.node)
	return err
}

// policySource says which policy the agent starts with.
func policySource(dir string) string {
	if dir == "" {
		return "built in"
	}
	return dir
}

// config is the agent's configuration from the flags.
func (ao *agentOptions) config(logger *slog.Logger) agent.Config {
	return agent.Config{
		Node: ao.node, Version: version, Interval: ao.interval, PolicyTimeout: ao.policyTimeout, HeartbeatTTL: ao.heartbeatTTL,
		PolicyDir: ao.policyDir, MetricsAddr: ao.metricsAddr, ClaimContainers: ao.claimContainers, Logger: logger,
		TerminatedRetention: ao.keepTerminated,
	}
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
		History: ao.history, TLS: ao.serverTLS, ClientTLS: opts.tls,
	})
	if errors.Is(err, state.ErrPlainNonLoopback) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start the embedded etcd (is another agent running? --data-dir and --listen-client choose another): %w", err)
	}
	cli, err := server.Client()
	if err != nil {
		server.Close()
		return nil, nil, err
	}
	store := state.Bounded(state.NewEtcdStore(cli), state.DefaultCallTimeout)
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
