package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sim"
)

// node is an agent's node together with what must be closed after it.
type node struct {
	agent.Node
	closeAll func() error
	// traces says where the node's trace receivers listen: "off" for none.
	traces string
}

func (n node) Close() error { return n.closeAll() }

// openNode opens the node --runtime asks for. A Docker node labels every
// container it creates with storeID, the identity of the agent's store.
func openNode(ctx context.Context, ao *agentOptions, storeID string, metrics *agent.Metrics, logger *slog.Logger) (node, error) {
	switch ao.runtime {
	case "sim":
		return openSimNode(ao, logger)
	case "docker", "auto":
		// Only a missing engine sends auto to the simulator: a node with
		// an engine whose actuators or trace receivers fail to start is
		// misconfigured, and says so.
		rt, err := docker.New(ctx, docker.Config{Node: ao.node, Store: storeID}, logger)
		switch {
		case err == nil:
			return openDockerNode(ctx, rt, ao, metrics, logger)
		case ao.runtime == "docker":
			return node{}, fmt.Errorf("%w\n(no Docker engine? --runtime sim runs the agent on a simulated node)", err)
		}
		logger.Warn("no usable Docker engine: running a simulated node instead (start dockerd, or pass --runtime docker to insist)",
			"err", err)
		return openSimNode(ao, logger)
	default:
		return node{}, fmt.Errorf("--runtime %s: unknown runtime (want auto, docker or sim)", ao.runtime)
	}
}

// openSimNode is a simulated node advanced in real time: each interval of
// wall time is one tick of the CPU model.
func openSimNode(ao *agentOptions, logger *slog.Logger) (node, error) {
	simNode, err := sim.NewNode(sim.NodeConfig{
		Name: ao.node, CPUs: ao.simCPUs, Epoch: time.Now().UTC().Truncate(time.Second), Logger: logger,
	})
	if err != nil {
		return node{}, err
	}
	n := agent.NewSimNode(simNode, ao.interval)
	return node{Node: n, closeAll: n.Close, traces: "off"}, nil
}

// openDockerNode builds the real node on engine rt, which it closes if it
// fails and when the node is closed.
func openDockerNode(ctx context.Context, rt *docker.Runtime, ao *agentOptions, metrics *agent.Metrics, logger *slog.Logger) (node, error) {
	var intake *traces.Intake
	if ao.traces {
		var err error
		if intake, err = traces.ListenOnBridge(ctx, rt, ao.intakeConfig(metrics, logger)); err != nil {
			rt.Close()
			return node{}, fmt.Errorf("%w (or run with --traces=false)", err)
		}
	}
	d, err := agent.NewDockerNode(ctx, agent.DockerConfig{
		Node: ao.node, Runtime: rt, Intake: intake, Metrics: metrics.Sensors, Logger: logger,
	})
	if err != nil {
		rt.Close()
		return node{}, err
	}
	return node{Node: d, traces: intakeDescription(intake), closeAll: func() error {
		// The logs the node follows go before the engine's client does.
		d.Close()
		return rt.Close()
	}}, nil
}

func intakeDescription(intake *traces.Intake) string {
	if intake == nil {
		return "off"
	}
	return intake.Addrs().String()
}

// intakeConfig is the trace intake the flags ask for.
func (ao *agentOptions) intakeConfig(metrics *agent.Metrics, logger *slog.Logger) traces.IntakeConfig {
	cfg := traces.IntakeConfig{Host: ao.tracesHost, Ports: ao.tracesPorts, Registry: metrics.Registry, Logger: logger}
	if ao.tracesForward != "" {
		cfg.Forward = &traces.ForwardConfig{Endpoint: ao.tracesForward}
	}
	return cfg
}
