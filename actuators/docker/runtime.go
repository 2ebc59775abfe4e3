// Package docker is sluice's container runtime on a real node: it creates,
// starts, stops and removes the containers of app specs through the Docker
// Engine API, finds them again by their labels, and turns Docker's event
// stream into container events. Its Runtime has the methods of the
// reconciler's Runtime and RuntimeEvents, without importing the reconciler:
// whoever wires the two together checks that they match.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// Config says which engine to use and how this node's containers are made.
type Config struct {
	// Node is this node's name; the runtime manages only the containers
	// labelled with it. Required.
	Node string
	// Host is the engine's address ("unix:///var/run/docker.sock"); empty
	// means DOCKER_HOST, or the default socket when that is unset too.
	Host string
	// StopTimeout is how long Stop waits after SIGTERM before it kills;
	// 0 means 3 s. sluice's workloads exit at once on SIGTERM.
	StopTimeout time.Duration
	// PublishAddr is the host address published ports bind to; the zero
	// value means 127.0.0.1, so nothing is exposed beyond the node unless
	// asked for.
	PublishAddr netip.Addr
	// Store is the identity of the store the agent reconciles against
	// (state.EnsureClusterID). Every container Create makes carries it in
	// LabelStore and List reports it, so that an agent on another store
	// never takes them for its own. Empty leaves the label off, as sluice
	// did before stores had an identity.
	Store string
}

// Runtime manages one node's containers on a Docker engine.
type Runtime struct {
	cli    *client.Client
	events eventSource
	log    *slog.Logger
	// deaths holds what the event stream said died before the engine's
	// list shows it; List believes it.
	deaths deaths
	// pids caches the containers' main processes for the actuators.
	pids *pidCache
	// listed is List's last answer, kept while the event stream says
	// nothing changed.
	listed listCache

	// mu guards settings: SetEnv may change them while Create reads them.
	mu       sync.Mutex
	settings createSettings
}

// New connects to the engine and agrees on an API version with it. The
// client speaks a newer API than older engines (this project's CI runs one
// that speaks 1.41), so the version is negotiated by a ping here, where a
// failure is reported, rather than lazily on the first request, where it
// would be swallowed and every later request sent at a version the engine
// refuses.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Runtime, error) {
	if cfg.Node == "" {
		return nil, errors.New("docker runtime: Config.Node is required")
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker runtime: configure the client: %w", err)
	}
	ping, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker runtime: reach the engine at %s: %w", cli.DaemonHost(), err)
	}
	stop := cfg.StopTimeout
	if stop <= 0 {
		stop = 3 * time.Second
	}
	publish := cfg.PublishAddr
	if !publish.IsValid() {
		publish = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	log := logger.With("runtime", "docker", "node", cfg.Node)
	log.Info("connected to the Docker engine", "host", cli.DaemonHost(), "engine_api", ping.APIVersion, "api", cli.ClientVersion())
	return &Runtime{
		cli:    cli,
		events: cli,
		pids:   newPIDCache("/proc"),
		settings: createSettings{
			node:        cfg.Node,
			store:       cfg.Store,
			publishAddr: publish,
			stopTimeout: int(max(stop.Round(time.Second), time.Second) / time.Second),
		},
		log: log,
	}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// Node is the node whose containers the runtime manages.
func (r *Runtime) Node() string { return r.settings.node }

// APIVersion is the Engine API version agreed with the engine.
func (r *Runtime) APIVersion() string { return r.cli.ClientVersion() }

// Client is the underlying Engine API client, for tests and tools that need
// more of the engine than a Runtime offers (a container's address, say).
func (r *Runtime) Client() *client.Client { return r.cli }

// nodeFilters selects this node's sluice containers.
func (r *Runtime) nodeFilters() client.Filters {
	return client.Filters{}.Add("label", LabelManaged+"=true", LabelNode+"="+r.settings.node)
}

// List returns every container on this node that sluice created, running
// or not, sorted by ID and then RuntimeID. Everything an agent that has
// just started needs to adopt them is in the labels: ID, GUID, spec hash.
// A container the event stream saw die is reported stopped even while the
// engine's list, which lags the event, still shows it running (see deaths).
//
// While an event subscription is live (Events) and no container event
// arrived since, List answers from its last listing, for at most
// listMaxAge.
func (r *Runtime) List(ctx context.Context) ([]state.Container, error) {
	kept, gen, ok := r.listed.get(time.Now())
	if ok {
		return kept, nil
	}
	listed, err := r.listEngine(ctx)
	if err == nil {
		r.listed.put(listed, gen, time.Now())
	}
	return listed, err
}

func (r *Runtime) listEngine(ctx context.Context) ([]state.Container, error) {
	mark := r.deaths.mark()
	res, err := r.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: r.nodeFilters()})
	if err != nil {
		return nil, fmt.Errorf("list the containers of node %s: %w", r.settings.node, err)
	}
	out := make([]state.Container, 0, len(res.Items))
	engineRunning := map[string]bool{}
	for _, s := range res.Items {
		info, ok := fromLabels(s.Labels)
		if !ok {
			r.log.Warn("ignoring a container labelled as sluice's without app and container labels", "runtime_id", s.ID, "names", s.Names)
			continue
		}
		c := toContainer(info, s.ID, s.State == container.StateRunning)
		engineRunning[s.ID] = c.Running
		switch {
		case r.deaths.correct(&c):
			r.log.Debug("the engine still lists a container running after its die event; believing the event", "id", c.ID, "runtime_id", state.ShortRuntimeID(s.ID), "exit_code", c.ExitCode)
		case !c.Running:
			if c.ExitCode, c.OOMKilled, err = r.exitState(ctx, s.ID); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	r.deaths.prune(mark, engineRunning)
	r.pids.keepOnly(engineRunning)
	slices.SortFunc(out, func(a, b state.Container) int {
		return cmpJoin(strings.Compare(a.ID, b.ID), strings.Compare(a.RuntimeID, b.RuntimeID))
	})
	return out, nil
}

func cmpJoin(first, second int) int {
	if first != 0 {
		return first
	}
	return second
}

func toContainer(info containerInfo, runtimeID string, running bool) state.Container {
	return state.Container{
		ID:        info.id(),
		App:       info.app,
		Name:      info.name,
		GUID:      info.guid,
		RuntimeID: runtimeID,
		Running:   running,
		SpecHash:  info.specHash,
		Store:     info.store,
	}
}

// exitState is a stopped container's exit code and whether the kernel
// killed it for memory, which the list summary does not carry (the exit
// code only inside a human-readable status).
func (r *Runtime) exitState(ctx context.Context, runtimeID string) (exitCode int, oomKilled bool, err error) {
	res, err := r.cli.ContainerInspect(ctx, runtimeID, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return 0, false, nil // removed since the list; the next list will not show it
	}
	if err != nil {
		return 0, false, fmt.Errorf("inspect container %s: %w", state.ShortRuntimeID(runtimeID), err)
	}
	if res.Container.State == nil {
		return 0, false, nil
	}
	return res.Container.State.ExitCode, res.Container.State.OOMKilled, nil
}

// Create creates and starts the container for spec. A container left by an
// earlier attempt with the same GUID and spec hash (created, then the start
// failed or the answer was lost) is started rather than duplicated.
func (r *Runtime) Create(ctx context.Context, app string, spec state.ContainerSpec, guid, specHash string) (state.Container, error) {
	defer r.listed.changed() // before its event arrives
	id := state.ContainerID(app, spec.Name)
	opts, err := createOptions(r.createSettings(), app, spec, guid, specHash)
	if err != nil {
		return state.Container{}, fmt.Errorf("create container %s: %w", id, err)
	}
	runtimeID, err := r.createOrFind(ctx, opts, guid, specHash)
	if err != nil {
		return state.Container{}, fmt.Errorf("create container %s from image %s: %w", id, spec.Image, err)
	}
	if _, err := r.cli.ContainerStart(ctx, runtimeID, client.ContainerStartOptions{}); err != nil {
		// Leave nothing half-made behind: the retry creates afresh.
		if _, rmErr := r.cli.ContainerRemove(context.WithoutCancel(ctx), runtimeID, client.ContainerRemoveOptions{Force: true}); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
			r.log.Warn("could not remove a container that failed to start", "id", id, "runtime_id", state.ShortRuntimeID(runtimeID), "err", rmErr)
		}
		return state.Container{}, fmt.Errorf("start container %s (%s) from image %s: %w", id, state.ShortRuntimeID(runtimeID), spec.Image, err)
	}
	r.log.Info("container started", "id", id, "runtime_id", state.ShortRuntimeID(runtimeID), "guid", guid, "image", spec.Image)
	info := containerInfo{app: app, name: spec.Name, guid: guid, specHash: specHash, store: opts.Config.Labels[LabelStore]}
	return toContainer(info, runtimeID, true), nil
}

func (r *Runtime) createOrFind(ctx context.Context, opts client.ContainerCreateOptions, guid, specHash string) (string, error) {
	res, err := r.cli.ContainerCreate(ctx, opts)
	if err == nil {
		for _, w := range res.Warnings {
			r.log.Warn("engine warning on create", "name", opts.Name, "warning", w)
		}
		return res.ID, nil
	}
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("image not found on this node (sluice does not pull; build it, e.g. make images): %w", err)
	}
	if !cerrdefs.IsConflict(err) {
		return "", err
	}
	existing, inspectErr := r.cli.ContainerInspect(ctx, opts.Name, client.ContainerInspectOptions{})
	if inspectErr != nil {
		return "", fmt.Errorf("%w (and inspecting the existing %s failed: %v)", err, opts.Name, inspectErr)
	}
	labels := map[string]string{}
	if existing.Container.Config != nil {
		labels = existing.Container.Config.Labels
	}
	if labels[LabelGUID] != guid || labels[LabelSpecHash] != specHash || labels[LabelNode] != r.settings.node ||
		labels[LabelStore] != opts.Config.Labels[LabelStore] {
		return "", fmt.Errorf("name %s is taken by another container (%s): %w", opts.Name, state.ShortRuntimeID(existing.Container.ID), err)
	}
	return existing.Container.ID, nil
}

// Stop sends SIGTERM and, after the stop timeout, SIGKILL. Stopping a
// stopped or missing container succeeds.
func (r *Runtime) Stop(ctx context.Context, c state.Container) error {
	defer r.listed.changed() // before its event arrives
	timeout := r.settings.stopTimeout
	_, err := r.cli.ContainerStop(ctx, c.RuntimeID, client.ContainerStopOptions{Timeout: &timeout})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("stop container %s (%s): %w", c.ID, state.ShortRuntimeID(c.RuntimeID), err)
	}
	return nil
}

// Remove deletes a container, killing it first if it runs. Removing a
// missing container, or one already being removed, succeeds.
func (r *Runtime) Remove(ctx context.Context, c state.Container) error {
	defer r.listed.changed() // before its event arrives
	r.pids.forget(c.RuntimeID)
	_, err := r.cli.ContainerRemove(ctx, c.RuntimeID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !alreadyBeingRemoved(err) {
		return fmt.Errorf("remove container %s (%s): %w", c.ID, state.ShortRuntimeID(c.RuntimeID), err)
	}
	return nil
}

// alreadyBeingRemoved matches the engine's conflict for a second removal
// while the first is in progress; the engine marks it only by its message.
func alreadyBeingRemoved(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}

// Kill sends signal ("KILL", "TERM", ...) to a container's main process.
// Tests use it to make a container die the way a crash would.
func (r *Runtime) Kill(ctx context.Context, c state.Container, signal string) error {
	defer r.listed.changed() // before its event arrives
	if _, err := r.cli.ContainerKill(ctx, c.RuntimeID, client.ContainerKillOptions{Signal: signal}); err != nil {
		return fmt.Errorf("kill container %s (%s) with %s: %w", c.ID, state.ShortRuntimeID(c.RuntimeID), signal, err)
	}
	return nil
}

// PID is the host PID of a running container's main process, which is how
// the cgroup and tc actuators find its cgroup and network namespace.
func (r *Runtime) PID(ctx context.Context, c state.Container) (int, error) {
	if pid, ok := r.pids.lookup(c.RuntimeID); ok {
		return pid, nil
	}
	res, err := r.cli.ContainerInspect(ctx, c.RuntimeID, client.ContainerInspectOptions{})
	if err != nil {
		return 0, fmt.Errorf("inspect container %s (%s): %w", c.ID, state.ShortRuntimeID(c.RuntimeID), err)
	}
	st := res.Container.State
	if st == nil || !st.Running || st.Pid == 0 {
		return 0, fmt.Errorf("container %s (%s) is not running", c.ID, state.ShortRuntimeID(c.RuntimeID))
	}
	r.pids.store(c.RuntimeID, st.Pid)
	return st.Pid, nil
}

// SetEnv sets node-wide variables in every container created from now on,
// beneath the spec's own env: where the node receives traces, which is
// known only once the runtime has found the bridge's gateway.
func (r *Runtime) SetEnv(env map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.settings.env = maps.Clone(env)
}

func (r *Runtime) createSettings() createSettings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.settings
}
