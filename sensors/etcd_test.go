package sensors

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

func startEtcd(t *testing.T) state.Store {
	_, store := etcdtest.Embedded(t)
	return store
}

// TestHeartbeatOnEtcd runs the heartbeat on a real embedded etcd with real
// lease expiry: a renewed registration outlives several TTLs, an abandoned
// one expires, and a graceful shutdown deletes the registration at once.
func TestHeartbeatOnEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real lease expiry")
	}
	store := startEtcd(t)
	ctx := context.Background()

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
	waitFor(t, "the abandoned registration to expire", func() bool {
		_, _, found := registered(t, store, "gone")
		return !found
	})
	t.Logf("abandoned registration (TTL %v) expired after %v", ttl, time.Since(start).Round(10*time.Millisecond))

	time.Sleep(2 * ttl)
	if _, _, found := registered(t, store, "alive"); !found {
		t.Fatalf("renewed registration expired after %v", time.Since(start))
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
	var rev int64
	for s := 1; s <= 3; s++ {
		var err error
		if rev, err = writer.Export(ctx, observationAt("n1", s)); err != nil {
			t.Fatal(err)
		}
	}
	view, err := state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if got := view.Observations["n1"]; !got.Time.Equal(t0.Add(3*time.Second)) || len(view.Errors) != 0 {
		t.Errorf("view holds %+v (errors %v); want the third observation", got, view.Errors)
	}
	if view.Revision != rev {
		t.Errorf("the last Export returned revision %d, the store is at %d: want the revision it wrote at", rev, view.Revision)
	}
}
