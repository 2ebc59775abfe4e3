package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/state"
)

func ptr[T any](v T) *T { return &v }

// quietSineload serves a few percent of a core, enough to report and
// cheap on a shared machine.
func quietSineload(image string) state.ContainerSpec {
	return state.ContainerSpec{
		Name:  "server",
		Image: image,
		Cmd:   []string{"--base", "0.02", "--amplitude", "0.01", "--period", "10s", "--tick", "100ms"},
		Env:   map[string]string{"GREETING": "hello"},
		Class: state.LatencyCritical,
		Resources: state.Resources{
			CPUShares:     ptr[uint64](512),
			CPUQuotaCores: ptr(0.5),
			MemoryBytes:   ptr[int64](64 << 20),
		},
		CPUSet: "0",
	}
}

// cappedHog is a CPU hog held to 5% of a core by its quota.
func cappedHog(image string) state.ContainerSpec {
	return state.ContainerSpec{
		Name:      "hog",
		Image:     image,
		Class:     state.BestEffort,
		Resources: state.Resources{CPUQuotaCores: ptr(0.05)},
	}
}

func inspect(t *testing.T, rt *docker.Runtime, c state.Container) client.ContainerInspectResult {
	t.Helper()
	res, err := rt.Client().ContainerInspect(t.Context(), c.RuntimeID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatalf("inspect %s: %v", c.ID, err)
	}
	return res
}

func list(t *testing.T, rt *docker.Runtime) []state.Container {
	t.Helper()
	cs, err := rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestIntegrationLifecycle(t *testing.T) {
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.Sineload)
	ctx := t.Context()
	spec := quietSineload(image)

	c, err := rt.Create(ctx, "web", spec, "sineload-5e1f00d", "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "web/server" || !c.Running || c.RuntimeID == "" || c.GUID != "sineload-5e1f00d" || c.SpecHash != "hash-1" {
		t.Fatalf("Create returned %+v", c)
	}
	got := list(t, rt)
	if len(got) != 1 || got[0] != c {
		t.Fatalf("List = %+v, want exactly %+v", got, c)
	}

	res := inspect(t, rt, c)
	if res.Container.Name != "/sluice-web-server-5e1f00d" {
		t.Errorf("container name %q", res.Container.Name)
	}
	env := res.Container.Config.Env
	for _, want := range []string{"SLUICE_GUID=sineload-5e1f00d", "SLUICE_APP=web", "SLUICE_CONTAINER=server", "GREETING=hello"} {
		if !slices.Contains(env, want) {
			t.Errorf("env %q lacks %s", env, want)
		}
	}
	labels := res.Container.Config.Labels
	if labels[docker.LabelNode] == "" || labels[docker.LabelManaged] != "true" || labels[docker.LabelClass] != "latency-critical" {
		t.Errorf("labels %v", labels)
	}
	hc := res.Container.HostConfig
	if hc.CPUQuota != 50_000 || hc.CPUPeriod != 100_000 || hc.CPUShares != 512 || hc.Memory != 64<<20 || hc.CpusetCpus != "0" {
		t.Errorf("resources: quota %d period %d shares %d memory %d cpuset %q", hc.CPUQuota, hc.CPUPeriod, hc.CPUShares, hc.Memory, hc.CpusetCpus)
	}
	if pid, err := rt.PID(ctx, c); err != nil || pid <= 0 {
		t.Errorf("PID = %d, %v", pid, err)
	}

	// Following the logs for a while shows sineload's reports.
	followCtx, stopFollowing := context.WithTimeout(ctx, 700*time.Millisecond)
	var logs bytes.Buffer
	if err := rt.Logs(followCtx, c, true, &logs); err != nil {
		t.Fatalf("follow logs: %v", err)
	}
	stopFollowing()
	assertWorkReports(t, logs.String())

	started := time.Now()
	if err := rt.Stop(ctx, c); err != nil {
		t.Fatal(err)
	}
	// sineload handles SIGTERM itself; without that, Stop would take the
	// whole timeout and end in SIGKILL (exit code 137).
	if took := time.Since(started); took > 2*time.Second {
		t.Errorf("Stop took %v; the workload ignored SIGTERM", took)
	}
	got = list(t, rt)
	if len(got) != 1 || got[0].Running || got[0].ExitCode != 0 {
		t.Fatalf("after Stop, List = %+v, want one stopped container that exited 0", got)
	}
	if _, err := rt.PID(ctx, got[0]); err == nil {
		t.Error("PID of a stopped container succeeded")
	}
	if err := rt.Stop(ctx, c); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}
	var stoppedLogs bytes.Buffer
	if err := rt.Logs(ctx, c, false, &stoppedLogs); err != nil {
		t.Fatalf("logs of a stopped container: %v", err)
	}
	assertWorkReports(t, stoppedLogs.String())
	var tail bytes.Buffer
	if err := rt.TailLogs(ctx, c, 1, false, &tail); err != nil {
		t.Fatalf("tail of the logs: %v", err)
	}
	if lines := strings.Count(strings.TrimSpace(tail.String()), "\n") + 1; lines != 1 {
		t.Errorf("the last line of the log is %d lines: %q", lines, tail.String())
	}

	if err := rt.Remove(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := list(t, rt); len(got) != 0 {
		t.Fatalf("after Remove, List = %+v", got)
	}
	if err := rt.Remove(ctx, c); err != nil {
		t.Errorf("removing a removed container: %v", err)
	}
	if err := rt.Stop(ctx, c); err != nil {
		t.Errorf("stopping a removed container: %v", err)
	}
}

// assertWorkReports checks that out holds sineload's JSON reports.
func assertWorkReports(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("logs hold %d lines: %q", len(lines), out)
	}
	for _, line := range lines {
		var rep struct {
			state.WorkReport
			T      *float64 `json:"t"`
			Demand *float64 `json:"demand"`
		}
		if err := json.Unmarshal([]byte(line), &rep); err != nil || rep.T == nil || rep.Demand == nil {
			t.Fatalf("log line %q is not a work report: %v", line, err)
		}
	}
}

func TestIntegrationKillMakesADieEventWithTheExitCode(t *testing.T) {
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.CPUHog)
	ctx := t.Context()
	events := rt.Events(ctx)

	c, err := rt.Create(ctx, "batch", cappedHog(image), "cpuhog-k1ll", "h")
	if err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, events, state.ContainerEvent{ContainerID: "batch/hog", Action: "start"})
	if err := rt.Kill(ctx, c, "KILL"); err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, events, state.ContainerEvent{ContainerID: "batch/hog", Action: "die", ExitCode: 137})
	got := list(t, rt)
	if len(got) != 1 || got[0].Running || got[0].ExitCode != 137 || got[0].OOMKilled {
		t.Fatalf("after kill -9, List = %+v, want one stopped container with exit code 137, not OOM-killed", got)
	}
}

func waitForEvent(t *testing.T, events <-chan state.ContainerEvent, want state.ContainerEvent) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	var seen []state.ContainerEvent
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event channel closed waiting for %+v; saw %+v", want, seen)
			}
			if ev == want {
				return
			}
			seen = append(seen, ev)
		case <-deadline:
			t.Fatalf("no %+v within 15s; saw %+v", want, seen)
		}
	}
}

func TestIntegrationANewRuntimeListsWhatTheLastOneLeft(t *testing.T) {
	rt := dockertest.Runtime(t)
	ctx := t.Context()
	server, err := rt.Create(ctx, "web", quietSineload(dockertest.Image(t, rt, docker.Sineload)), "sineload-aa01", "hash-s")
	if err != nil {
		t.Fatal(err)
	}
	hog, err := rt.Create(ctx, "batch", cappedHog(dockertest.Image(t, rt, docker.CPUHog)), "cpuhog-bb02", "hash-h")
	if err != nil {
		t.Fatal(err)
	}
	before := list(t, rt)

	// The agent restarts: a new Runtime for the same node, nothing carried over.
	node := inspect(t, rt, server).Container.Config.Labels[docker.LabelNode]
	restarted, err := docker.New(ctx, docker.Config{Node: node}, dockertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer restarted.Close()
	after := list(t, restarted)
	want := []state.Container{hog, server} // sorted by ID: batch/hog < web/server
	if !slices.Equal(after, want) || !slices.Equal(before, want) {
		t.Fatalf("after a restart List = %+v\nbefore it = %+v\nwant %+v", after, before, want)
	}

	other, err := docker.New(ctx, docker.Config{Node: dockertest.NodeName(t)}, dockertest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got := list(t, other); len(got) != 0 {
		t.Fatalf("another node's runtime lists this node's containers: %+v", got)
	}
}

func TestIntegrationCreateTwiceWithTheSameGUIDMakesOneContainer(t *testing.T) {
	rt := dockertest.Runtime(t)
	spec := cappedHog(dockertest.Image(t, rt, docker.CPUHog))
	first, err := rt.Create(t.Context(), "batch", spec, "cpuhog-cc03", "h")
	if err != nil {
		t.Fatal(err)
	}
	second, err := rt.Create(t.Context(), "batch", spec, "cpuhog-cc03", "h")
	if err != nil {
		t.Fatalf("second create with the same GUID: %v", err)
	}
	if second.RuntimeID != first.RuntimeID {
		t.Errorf("second create made %s, want the existing %s", second.RuntimeID, first.RuntimeID)
	}
	if got := list(t, rt); len(got) != 1 {
		t.Fatalf("List = %+v, want one container", got)
	}
	if _, err := rt.Create(t.Context(), "batch", spec, "cpuhog-cc03", "another-hash"); err == nil {
		t.Fatal("a create whose name is taken by a different spec succeeded")
	}
}

func TestIntegrationCreateFromAMissingImageSaysSo(t *testing.T) {
	rt := dockertest.Runtime(t)
	spec := state.ContainerSpec{Name: "ghost", Image: "sluice/no-such-image:dev", Class: state.BestEffort}
	_, err := rt.Create(t.Context(), "web", spec, "ghost-dd04", "h")
	if err == nil {
		t.Fatal("create from a missing image succeeded")
	}
	for _, want := range []string{"create container web/ghost from image sluice/no-such-image:dev", "does not pull"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := list(t, rt); len(got) != 0 {
		t.Fatalf("a failed create left %+v", got)
	}
}

func TestIntegrationNetloadAcrossTheBridge(t *testing.T) {
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.Netload)
	ctx := t.Context()
	sink, err := rt.Create(ctx, "net", state.ContainerSpec{
		Name: "sink", Image: image, Class: state.BestEffort, Cmd: []string{"sink", "--listen", ":5001"},
	}, "netload-ee05", "h")
	if err != nil {
		t.Fatal(err)
	}
	sinkAddr := bridgeAddr(t, inspect(t, rt, sink))
	events := rt.Events(ctx)
	sender, err := rt.Create(ctx, "net", state.ContainerSpec{
		Name: "send", Image: image, Class: state.BestEffort,
		Cmd: []string{"send", "--to", netip.AddrPortFrom(sinkAddr, 5001).String(), "--duration", "300ms"},
	}, "netload-ff06", "h")
	if err != nil {
		t.Fatal(err)
	}
	waitForEvent(t, events, state.ContainerEvent{ContainerID: "net/send", Action: "die"})
	var out bytes.Buffer
	if err := rt.Logs(ctx, sender, false, &out); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		BytesSent     int64   `json:"bytes_sent"`
		BytesReceived int64   `json:"bytes_received"`
		Mbit          float64 `json:"mbit"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("sender printed %q: %v", out.String(), err)
	}
	if rep.BytesSent == 0 || rep.BytesReceived != rep.BytesSent || rep.Mbit <= 0 {
		t.Fatalf("sender report %+v: want every byte confirmed at a positive rate", rep)
	}
	t.Logf("netload over the bridge: %.0f Mbit/s", rep.Mbit)
}

func bridgeAddr(t *testing.T, res client.ContainerInspectResult) netip.Addr {
	t.Helper()
	for name, ep := range res.Container.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress.IsValid() {
			t.Logf("sink on network %s at %s", name, ep.IPAddress)
			return ep.IPAddress
		}
	}
	t.Fatalf("the sink has no address: %+v", res.Container.NetworkSettings.Networks)
	return netip.Addr{}
}

// A runtime that keeps its listing between events still sees what another
// runtime of the node does behind its back: a container made, stopped and
// removed shows in its List as soon as the engine's event arrives.
func TestIntegrationListFollowsChangesMadeElsewhere(t *testing.T) {
	watcher := dockertest.Runtime(t)
	image := dockertest.Image(t, watcher, docker.Sineload)
	other := dockertest.RuntimeWith(t, docker.Config{Node: watcher.Node()})
	ctx := t.Context()
	watcher.Events(ctx)
	if got := list(t, watcher); len(got) != 0 {
		t.Fatalf("List = %+v on a fresh node", got)
	}
	listsSoon := func(what string, want func([]state.Container) bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for got := list(t, watcher); !want(got); got = list(t, watcher) {
			if time.Now().After(deadline) {
				t.Fatalf("List = %+v 3 s after the change; want %s", got, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c, err := other.Create(ctx, "web", quietSineload(image), "sineload-0c0ffee", "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	listsSoon("the new container running", func(got []state.Container) bool {
		return len(got) == 1 && got[0].RuntimeID == c.RuntimeID && got[0].Running
	})
	if err := other.Stop(ctx, c); err != nil {
		t.Fatal(err)
	}
	listsSoon("it stopped", func(got []state.Container) bool { return len(got) == 1 && !got[0].Running })
	if err := other.Remove(ctx, c); err != nil {
		t.Fatal(err)
	}
	listsSoon("it gone", func(got []state.Container) bool { return len(got) == 0 })

	// Its own actions show at once, before their events arrive.
	mine, err := watcher.Create(ctx, "web", quietSineload(image), "sineload-0c0ffee", "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := list(t, watcher); len(got) != 1 || got[0].RuntimeID != mine.RuntimeID {
		t.Fatalf("List right after Create = %+v; want the new container", got)
	}
	if err := watcher.Remove(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if got := list(t, watcher); len(got) != 0 {
		t.Fatalf("List right after Remove = %+v; want none", got)
	}
}
