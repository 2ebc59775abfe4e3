package main

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// The outage: an agent at a 1 s interval on an external etcd of one member,
// which goes away for 30 s; a container of the node dies 2 s into it.
const (
	outageInterval = time.Second
	outageLength   = 30 * time.Second
	outageKillAt   = 2 * time.Second
	// outageSettle is how long the agent runs with etcd up, before the
	// outage and after it.
	outageSettle = 5 * time.Second
	// restartWithin is a killed container's restart backoff (1 s at the
	// first failure) plus the time to create and start a container.
	restartWithin = 5 * time.Second
	// actsWithin bounds the time from etcd answering again to the agent's
	// first write, and from a spec put then to the app's first status.
	actsWithin = 2 * time.Second
	// tickSlack is how far the count of observations may be from the
	// count of ticks: the ticker's phase at the start and at the end.
	tickSlack = 2
)

// dropped counts the observations the agent gave up on, from its metrics.
const droppedMetric = "sluice_sensor_observations_dropped_total"

// TestDockerAgentRidesOutEtcdOutage stops the node's etcd (a separate
// process) for 30 s under a running agent and checks the three things an
// outage must not cost: a container killed during it is restarted within
// its backoff, with etcd still down; once etcd answers again the agent
// writes to it, and acts on a new spec, within 2 s; and every tick's
// observation reaches the store or is counted as dropped.
func TestDockerAgentRidesOutEtcdOutage(t *testing.T) {
	n := newDockerNode(t)
	cluster := etcdtest.Start(t, etcdtest.Options{})
	n.endpoint, n.external = cluster.Endpoints()[0], true
	cli := cluster.Client(t)
	startRev := storeRevision(t, cli)

	var ticks tickLog
	metricsAddr := freeTCPAddr(t)
	agent := n.startAgent(func(ao *agentOptions) {
		ao.interval = outageInterval
		ao.metricsAddr = metricsAddr
		ao.hooks.ObservationWriting = func(state.Observation) { ticks.tick() }
	})
	n.apply(idleSpec("steady"))
	before := n.waitPhase("steady", state.Ready).Containers[0]
	time.Sleep(outageSettle)

	cluster.Stop(0)
	down := time.Now()
	time.Sleep(outageKillAt)
	restarted, took := n.killAndAwaitRestart("steady/sink", before.RuntimeID)
	t.Logf("steady/sink killed %v into the outage, running again on %.12s after %v (etcd still down)",
		outageKillAt, restarted, took.Round(time.Millisecond))
	if took > restartWithin {
		t.Errorf("the killed container came back after %v, want within %v", took, restartWithin)
	}
	time.Sleep(time.Until(down.Add(outageLength)))
	cluster.Start(0)
	healthy := time.Now()
	t.Logf("etcd down for %v", healthy.Sub(down).Round(time.Millisecond))

	writes := watchAgentWrites(t, cli, n.name, storeRevision(t, cli))
	n.apply(idleSpec("after"))
	applied := time.Now()
	first := writes.first(t, func(w agentWrite) bool { return true })
	t.Logf("first write of the agent %v after etcd was healthy: %s", first.at.Sub(healthy).Round(time.Millisecond), first.key)
	if took := first.at.Sub(healthy); took > actsWithin {
		t.Errorf("the agent wrote to etcd %v after it was healthy again, want within %v", took, actsWithin)
	}
	statusKey := state.Keys.Status(n.name, "after")
	acted := writes.first(t, func(w agentWrite) bool { return w.key == statusKey })
	t.Logf("first status of a spec put after the outage: %v after the put", acted.at.Sub(applied).Round(time.Millisecond))
	if took := acted.at.Sub(applied); took > actsWithin {
		t.Errorf("the agent wrote the first status of a new spec %v after its put, want within %v", took, actsWithin)
	}
	n.waitPhase("after", state.Ready)
	time.Sleep(outageSettle)

	steady := n.status("steady")
	steps := strings.Join(n.transitions("steady"), " ")
	t.Logf("steady after the outage: %s, restarts %d, transitions %s", steady.Phase, steady.Restarts, steps)
	// The node stayed alive throughout: no lost and back again.
	if want := "->pending:create pending->ready:all-running ready->failed:container-failed failed->pending:restart pending->ready:all-running"; steps != want {
		t.Errorf("steady's transitions:\n got  %s\n want %s", steps, want)
	}
	if steady.Phase != state.Ready || len(steady.Containers) != 1 || steady.Containers[0].RuntimeID != restarted {
		t.Errorf("steady after the outage: %+v, want ready on the restarted container %.12s", steady, restarted)
	}
	if res, found := n.inspect(restarted); !found || !res.Container.State.Running {
		t.Errorf("the restarted container %.12s of steady was stopped after the outage", restarted)
	}

	dropped := metricValue(t, metricsAddr, droppedMetric)
	if err := agent.stop(); err != nil {
		t.Fatalf("agent: %v", err)
	}
	stopped := time.Now()
	events := historySince(t, cli, startRev)
	written := countEvents(events, state.Keys.Observation(n.name), clientv3.EventTypePut)
	// The lease is renewed, or the node registers again before it ends;
	// only the graceful stop at the end revokes it.
	if deleted := countEvents(events, state.Keys.Node(n.name), clientv3.EventTypeDelete); deleted != 1 {
		t.Errorf("the registration was deleted %d times, want once, by the stop at the end", deleted)
	}
	want := ticks.expected(stopped, outageInterval)
	t.Logf("ticks %d (%d observed), observations in etcd %d, dropped %v", want, ticks.count(), written, dropped)
	if got := written + int(dropped); math.Abs(float64(got-want)) > tickSlack {
		t.Errorf("%d observations written + %v dropped = %d, want the %d ticks ±%d", written, dropped, got, want, tickSlack)
	}
}

// killAndAwaitRestart kills the container with SIGKILL through the engine
// and waits for the runtime to show another container of that ID running.
// It returns the new container and the time from the kill.
func (n *dockerNode) killAndAwaitRestart(id, runtimeID string) (string, time.Duration) {
	t := n.t
	t.Helper()
	ctx := context.Background()
	if err := n.rt.Kill(ctx, state.Container{ID: id, RuntimeID: runtimeID}, "KILL"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var replacement string
	waitUntil(t, 30*time.Second, id+" to run again", func() bool {
		containers, err := n.rt.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range containers {
			if c.ID == id && c.Running && c.RuntimeID != runtimeID {
				replacement = c.RuntimeID
				return true
			}
		}
		return false
	})
	return replacement, time.Since(killed)
}

// tickLog counts the agent's ticks, from its ObservationWriting hook.
type tickLog struct {
	mu    sync.Mutex
	first time.Time
	n     int
}

func (l *tickLog) tick() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		l.first = time.Now()
	}
	l.n++
}

func (l *tickLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// expected is how many ticks of interval fall between the first and end:
// what the agent should have observed, whatever it managed to.
func (l *tickLog) expected(end time.Time, interval time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(end.Sub(l.first)/interval) + 1
}

// storeRevision is the store's current revision.
func storeRevision(t *testing.T, cli *clientv3.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, state.Root, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// historySince reads every event under /sluice/ after revision rev, up to
// the store's current revision.
func historySince(t *testing.T, cli *clientv3.Client, rev int64) []*clientv3.Event {
	t.Helper()
	last := storeRevision(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var events []*clientv3.Event
	for resp := range cli.Watch(ctx, state.Root, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			t.Fatalf("history from revision %d: %v", rev+1, err)
		}
		events = append(events, resp.Events...)
		if len(events) > 0 && events[len(events)-1].Kv.ModRevision >= last {
			return events
		}
	}
	t.Fatalf("history ended before revision %d: %v", last, ctx.Err())
	return nil
}

// countEvents counts the events of one type on key.
func countEvents(events []*clientv3.Event, key string, typ mvccpb.Event_EventType) int {
	count := 0
	for _, ev := range events {
		if string(ev.Kv.Key) == key && ev.Type == typ {
			count++
		}
	}
	return count
}

// agentWrite is a write of the agent's, as a watch delivered it.
type agentWrite struct {
	key string
	at  time.Time
}

// agentWrites collects the writes of node's agent from revision rev on:
// its keys but the specs under /sluice/on/<node>/, and its registration.
type agentWrites struct {
	mu     sync.Mutex
	writes []agentWrite
}

func watchAgentWrites(t *testing.T, cli *clientv3.Client, node string, rev int64) *agentWrites {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := &agentWrites{}
	registration, scope, specs := state.Keys.Node(node), state.NodeScope(node), state.Keys.App(node, "")
	go func() {
		for resp := range cli.Watch(ctx, state.Root, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
			at := time.Now()
			w.mu.Lock()
			for _, ev := range resp.Events {
				key := string(ev.Kv.Key)
				if key == registration || strings.HasPrefix(key, scope) && !strings.HasPrefix(key, specs) {
					w.writes = append(w.writes, agentWrite{key: key, at: at})
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// first waits for the first write that matches.
func (w *agentWrites) first(t *testing.T, match func(agentWrite) bool) agentWrite {
	t.Helper()
	var found agentWrite
	waitUntil(t, 30*time.Second, "a write of the agent", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, write := range w.writes {
			if match(write) {
				found = write
				return true
			}
		}
		return false
	})
	return found
}

// metricValue reads a counter of the agent's from its metrics endpoint.
func metricValue(t *testing.T, metricsAddr, name string) float64 {
	t.Helper()
	return counterTotal(scrapeMetrics(t, metricsAddr)[name])
}
