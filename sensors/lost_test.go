package sensors

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func appOn(name, node string) state.AppSpec {
	return state.AppSpec{Name: name, Node: node, Containers: []state.ContainerSpec{{Name: "main", Image: "img", Class: state.BestEffort}}}
}

func TestLostStatuses(t *testing.T) {
	view := state.NewView()
	view.Apps = map[string]state.AppSpec{"a": appOn("a", "n1"), "b": appOn("b", ""), "c": appOn("c", "n1"), "d": appOn("d", "n2"), "f": appOn("f", "n1")}
	view.Statuses = map[string]state.AppStatus{
		"a": {App: "a", Node: "n1", Phase: state.Ready, Restarts: 2},
		"b": {App: "b", Node: "n1", Phase: state.Failed},
		"c": {App: "c", Node: "n1", Phase: state.Terminated},
		"d": {App: "d", Node: "n2", Phase: state.Ready},
		"e": {App: "e", Node: "n1", Phase: state.Lost},
	}
	got := LostStatuses(view, "n1", t0)
	var apps []string
	for _, s := range got {
		apps = append(apps, s.App)
		if s.Phase != state.Lost || s.Node != "n1" || s.Transition == nil || s.Transition.To != state.Lost || !s.Transition.Time.Equal(t0) {
			t.Errorf("status of %s = %+v; want lost on n1 at t0", s.App, s)
		}
	}
	if len(apps) != 3 || apps[0] != "a" || apps[1] != "b" || apps[2] != "f" {
		t.Fatalf("lost apps = %v; want [a b f] (spec or status on n1, not terminated or already lost)", apps)
	}
	if got[0].Transition.From != state.Ready || got[0].Restarts != 2 || got[2].Transition.From != state.Pending {
		t.Errorf("transitions = %+v, %+v; want from ready keeping restarts, and from pending for an app without status", got[0], got[2])
	}
}

func putJSON(t *testing.T, store state.Store, key string, value any) {
	t.Helper()
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Txn(context.Background(), state.Put(key, data)); err != nil {
		t.Fatal(err)
	}
}

func statusOf(t *testing.T, store state.Store, app string) state.AppStatus {
	t.Helper()
	kv, found, _, err := store.Get(context.Background(), state.Keys.Status(app))
	if err != nil || !found {
		t.Fatalf("status of %s: found %v, err %v", app, found, err)
	}
	var status state.AppStatus
	if err := json.Unmarshal(kv.Value, &status); err != nil {
		t.Fatal(err)
	}
	return status
}

// runLostWatcher starts a watcher and returns once it is watching.
func runLostWatcher(t *testing.T, store state.Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	watcher := NewLostNodeWatcher(store, func() time.Time { return t0 }, nil, discardLogger())
	watcher.retry = 50 * time.Millisecond
	listed := make(chan struct{}, 1)
	watcher.listed = func() {
		select {
		case listed <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() { done <- watcher.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-listed:
	case <-time.After(10 * time.Second):
		t.Fatal("watcher never listed the nodes")
	}
}

func TestLostNodeWatcherOnExpiry(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	store.ExpireLeases(t0)
	hb, err := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Register(ctx); err != nil {
		t.Fatal(err)
	}
	putJSON(t, store, state.Keys.App("web"), appOn("web", "n1"))
	putJSON(t, store, state.Keys.Status("web"), state.AppStatus{App: "web", Node: "n1", Phase: state.Ready})
	putJSON(t, store, state.Keys.App("done"), appOn("done", "n1"))
	putJSON(t, store, state.Keys.Status("done"), state.AppStatus{App: "done", Node: "n1", Phase: state.Terminated})
	runLostWatcher(t, store)

	store.ExpireLeases(t0.Add(11 * time.Second))
	waitFor(t, "web marked lost", func() bool { return statusOf(t, store, "web").Phase == state.Lost })
	if got := statusOf(t, store, "web"); got.Transition == nil || got.Transition.From != state.Ready || got.Transition.Event != "node-lost" {
		t.Errorf("web status = %+v; want the transition ready → lost on node-lost", got)
	}
	if got := statusOf(t, store, "done"); got.Phase != state.Terminated {
		t.Errorf("terminated app became %s; want it left terminated", got.Phase)
	}
}

// gappyStore breaks the first watch when told to, as a compaction or a
// reconnect would.
type gappyStore struct {
	*state.MemoryStore
	breakFirst chan struct{}
	watches    int
}

func (s *gappyStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan state.WatchResponse {
	s.watches++
	if s.watches > 1 {
		return s.MemoryStore.Watch(ctx, prefix, fromRev)
	}
	out := make(chan state.WatchResponse, 1)
	go func() {
		defer close(out)
		select {
		case <-s.breakFirst:
			out <- state.WatchResponse{Err: &state.CompactedError{CompactRevision: fromRev + 5}}
		case <-ctx.Done():
		}
	}()
	return out
}

func TestLostNodeWatcherAcrossAGap(t *testing.T) {
	ctx := context.Background()
	store := &gappyStore{MemoryStore: state.NewMemoryStore(), breakFirst: make(chan struct{})}
	store.ExpireLeases(t0)
	hb, _ := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 10 * time.Second})
	if err := hb.Register(ctx); err != nil {
		t.Fatal(err)
	}
	putJSON(t, store, state.Keys.Status("web"), state.AppStatus{App: "web", Node: "n1", Phase: state.Ready})
	runLostWatcher(t, store)
	// The node expires while the watch is not delivering, then the watch
	// breaks: the relisting finds the node gone.
	store.ExpireLeases(t0.Add(11 * time.Second))
	close(store.breakFirst)
	waitFor(t, "web marked lost after the gap", func() bool { return statusOf(t, store, "web").Phase == state.Lost })
}
