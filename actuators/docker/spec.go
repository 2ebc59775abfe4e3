package docker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// The labels sluice puts on every container it creates. They are how it
// finds its containers again (after an agent restart, too) and how sensors
// tell which app a container belongs to.
const (
	LabelManaged   = "sluice.managed" // "true"
	LabelNode      = "sluice.node"
	LabelApp       = "sluice.app"
	LabelContainer = "sluice.container"
	LabelGUID      = "sluice.guid"
	LabelSpecHash  = "sluice.spec-hash"
	LabelClass     = "sluice.class"
	// LabelStore is the identity of the store whose agent created the
	// container (state.ClusterIDKey): an agent on another store leaves it
	// alone.
	LabelStore = "sluice.store"
)

// The environment every container gets, on top of its spec's env. The GUID
// is the service name a container's traces carry, which binds spans to it.
// A container whose spec has a demand gets it as JSON in EnvDemand, so a
// workload that follows one (sineload) offers on a real node the load the
// simulator would: the spec is the one place the demand is written.
const (
	EnvGUID      = "SLUICE_GUID"
	EnvApp       = "SLUICE_APP"
	EnvContainer = "SLUICE_CONTAINER"
	EnvDemand    = "SLUICE_DEMAND"
)

// cfsPeriodMicros is the CFS period quotas are expressed against: the
// kernel's default, 100 ms.
const cfsPeriodMicros = 100_000

// minQuotaMicros is the smallest CFS quota the kernel accepts, 1 ms.
const minQuotaMicros = 1000

// logOptions bound what a container's log may take on disk: sineload writes
// a line four times a second for as long as it runs.
var logOptions = container.LogConfig{
	Type:   "json-file",
	Config: map[string]string{"max-size": "10m", "max-file": "3"},
}

// createSettings are the node-wide inputs of a create, beside the spec.
type createSettings struct {
	node        string
	store       string
	publishAddr netip.Addr
	stopTimeout int // seconds
	env         map[string]string
}

// createOptions computes the create request for one container without any
// I/O, so what sluice asks of Docker is tested on its own.
func createOptions(s createSettings, app string, spec state.ContainerSpec, guid, specHash string) (client.ContainerCreateOptions, error) {
	exposed, bindings, err := portOptions(spec.Ports, s.publishAddr)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	stopTimeout := s.stopTimeout
	cfg := &container.Config{
		Image:        spec.Image,
		Cmd:          slices.Clone(spec.Cmd),
		Env:          containerEnv(s.env, app, spec, guid),
		Labels:       containerLabels(s, app, spec, guid, specHash),
		ExposedPorts: exposed,
		StopTimeout:  &stopTimeout,
	}
	host := &container.HostConfig{
		PortBindings: bindings,
		LogConfig:    logOptions,
		Resources:    initialResources(spec),
	}
	return client.ContainerCreateOptions{
		Name:       containerName(app, spec.Name, guid),
		Config:     cfg,
		HostConfig: host,
	}, nil
}

// containerEnv merges, in a stable order, the node's env, the spec's env
// over it, and sluice's own variables, which win over both.
func containerEnv(nodeEnv map[string]string, app string, spec state.ContainerSpec, guid string) []string {
	merged := maps.Clone(nodeEnv)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, spec.Env)
	maps.Copy(merged, map[string]string{EnvGUID: guid, EnvApp: app, EnvContainer: spec.Name})
	if spec.Demand != nil {
		// Only a NaN or an infinity fails to encode, and a spec read
		// from JSON holds neither.
		if demand, err := json.Marshal(spec.Demand); err == nil {
			merged[EnvDemand] = string(demand)
		}
	}
	env := make([]string, 0, len(merged))
	for _, k := range state.SortedKeys(merged) {
		env = append(env, k+"="+merged[k])
	}
	return env
}

func containerLabels(s createSettings, app string, spec state.ContainerSpec, guid, specHash string) map[string]string {
	labels := map[string]string{
		LabelManaged:   "true",
		LabelNode:      s.node,
		LabelApp:       app,
		LabelContainer: spec.Name,
		LabelGUID:      guid,
		LabelSpecHash:  specHash,
		LabelClass:     string(spec.Class),
	}
	if s.store != "" {
		labels[LabelStore] = s.store
	}
	return labels
}

func initialResources(spec state.ContainerSpec) container.Resources {
	r := container.Resources{CpusetCpus: spec.CPUSet}
	if shares := spec.Resources.CPUShares; shares != nil {
		r.CPUShares = int64(*shares)
	}
	if cores := spec.Resources.CPUQuotaCores; cores != nil {
		r.CPUPeriod = cfsPeriodMicros
		r.CPUQuota = quotaMicros(*cores)
	}
	if mem := spec.Resources.MemoryBytes; mem != nil {
		r.Memory = *mem
	}
	return r
}

// quotaMicros is a quota in cores as CFS microseconds per period.
func quotaMicros(cores float64) int64 {
	return max(int64(math.Round(cores*cfsPeriodMicros)), minQuotaMicros)
}

func portOptions(ports []state.PortSpec, publishAddr netip.Addr) (network.PortSet, network.PortMap, error) {
	if len(ports) == 0 {
		return nil, nil, nil
	}
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for i, p := range ports {
		port, err := containerPort(p)
		if err != nil {
			return nil, nil, fmt.Errorf("ports[%d]: %w", i, err)
		}
		exposed[port] = struct{}{}
		if p.Host == 0 {
			continue
		}
		if p.Host < 1 || p.Host > 65535 {
			return nil, nil, fmt.Errorf("ports[%d]: host port %d is out of range 1-65535", i, p.Host)
		}
		bindings[port] = append(bindings[port], network.PortBinding{HostIP: publishAddr, HostPort: strconv.Itoa(p.Host)})
	}
	return exposed, bindings, nil
}

func containerPort(p state.PortSpec) (network.Port, error) {
	if p.Container < 1 || p.Container > 65535 {
		return network.Port{}, fmt.Errorf("container port %d is out of range 1-65535", p.Container)
	}
	proto := network.IPProtocol(strings.ToLower(p.Protocol))
	if proto == "" {
		proto = network.TCP
	}
	if proto != network.TCP && proto != network.UDP && proto != network.SCTP {
		return network.Port{}, fmt.Errorf("protocol %q: must be tcp, udp or sctp", p.Protocol)
	}
	port, _ := network.PortFrom(uint16(p.Container), proto)
	return port, nil
}

// containerName is "sluice-<app>-<container>-<suffix>", the suffix taken
// from the GUID so that a recreated container never collides with the one
// it replaces while that one is still being removed.
func containerName(app, name, guid string) string {
	return "sluice-" + app + "-" + name + "-" + guidSuffix(guid)
}

// guidSuffix is the random tail of a GUID ("sineload-3f9a2c" → "3f9a2c"),
// cut to what Docker accepts in a name; a GUID without a usable tail is
// hashed instead.
func guidSuffix(guid string) string {
	tail := guid[strings.LastIndexAny(guid, "-_:/.")+1:]
	tail = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return -1
	}, tail)
	if len(tail) > 12 {
		tail = tail[len(tail)-12:]
	}
	if tail == "" {
		sum := sha256.Sum256([]byte(guid))
		tail = hex.EncodeToString(sum[:4])
	}
	return tail
}

// fromLabels is what sluice knows of a container from its labels alone;
// ok is false for a container that carries the managed label but not the
// app and container names (somebody else's, or damaged).
func fromLabels(labels map[string]string) (c containerInfo, ok bool) {
	c = containerInfo{
		app:      labels[LabelApp],
		name:     labels[LabelContainer],
		guid:     labels[LabelGUID],
		specHash: labels[LabelSpecHash],
		store:    labels[LabelStore],
	}
	return c, c.app != "" && c.name != ""
}

type containerInfo struct {
	app, name, guid, specHash, store string
}

func (c containerInfo) id() string { return state.ContainerID(c.app, c.name) }
