package sensors

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func startEtcd(t *testing.T) state.Store {
	t.Helper()
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: filepath.Join(t.TempDir(), "etcd"), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	client, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return state.NewEtcdStore(client)
}

// TestHeartbeatOnEtcd runs the heartbeat and the lost-node watcher on a
// real embedded etcd with real lease expiry: a renewed registration
// outlives several TTLs, an abandoned one expires and its app turns lost,
// and a graceful shutdown deletes the registration at once.
func TestHeartbeatOnEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real lease expiry")
	}
	store := startEtcd(t)
	ctx := context.Background()
	putJSON(t, store, state.Keys.Status("web"), state.AppStatus{App: "web", Node: "gone", Phase: state.Ready})
	putJSON(t, store, state.Keys.Status("api"), state.AppStatus{App: "api", Node: "alive", Phase: state.Ready})
	runLostWatcher(t, store)

	const ttl = 2 * time.Second
	alive, err := NewHeartbeat(store, HeartbeatConfig{Info: state.NodeInfo{Name: "alive"}, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := NewHeartbeat(store, HeartbeatConfig{Info: state.NodeInfo{Name: "gone"}, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- alive.Run(runCtx) }()
	if err := gone.Register(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "the abandoned node's app to turn lost", func() bool { return statusOf(t, store, "web").Phase == state.Lost })
	t.Logf("abandoned registration (TTL %v) noticed lost after %v", ttl, time.Since(start).Round(10*time.Millisecond))

	time.Sleep(2 * ttl)
	if _, _, found := registered(t, store, "alive"); !found {
		t.Fatalf("renewed registration expired after %v", time.Since(start))
	}
	if got := statusOf(t, store, "api"); got.Phase != state.Ready {
		t.Errorf("app on the live node is %s; want ready", got.Phase)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, found := registered(t, store, "alive"); found {
		t.Error("registration still there after a graceful shutdown")
	}
}

func TestStoreWriterOnEtcd(t *testing.T) {
	store := startEtcd(t)
	ctx := context.Background()
	writer := NewStoreWriter(store, StoreWriterConfig{}, nil, discardLogger())
	for s := 1; s <= 3; s++ {
		if err := writer.Export(ctx, observationAt("n1", s)); err != nil {
			t.Fatal(err)
		}
	}
	view, err := state.LoadView(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if got := view.Observations["n1"]; !got.Time.Equal(t0.Add(3*time.Second)) || len(view.Errors) != 0 {
		t.Errorf("view holds %+v (errors %v); want the third observation", got, view.Errors)
	}
}
