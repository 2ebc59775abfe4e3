package sensors

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-io/sluice/state"
)

var nodeInfo = state.NodeInfo{Name: "n1", AgentVersion: "test", Runtime: "docker",
	Labels: map[string]string{"zone": "lab"}, Capacity: state.Capacity{CPUs: 2, MemoryBytes: 1 << 30}}

func registered(t *testing.T, store state.Store, node string) (state.NodeInfo, int64, bool) {
	t.Helper()
	kv, found, _, err := store.Get(context.Background(), state.Keys.Node(node))
	if err != nil {
		t.Fatal(err)
	}
	var info state.NodeInfo
	if found {
		if err := json.Unmarshal(kv.Value, &info); err != nil {
			t.Fatal(err)
		}
	}
	return info, kv.Lease, found
}

func TestHeartbeatKeepsTheLease(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemoryStore()
	metrics := NewMetrics(nil)
	hb, err := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 10 * time.Second, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	store.ExpireLeases(t0)
	if err := hb.Register(ctx); err != nil {
		t.Fatal(err)
	}
	info, lease, found := registered(t, store, "n1")
	if !found || lease != hb.Lease() || info.Capacity.CPUs != 2 || info.Labels["zone"] != "lab" {
		t.Fatalf("registration = %+v on lease %d (found %v); want the node info on lease %d", info, lease, found, hb.Lease())
	}
	// Renewed at 5 s, the lease outlives its first 10 s.
	store.ExpireLeases(t0.Add(5 * time.Second))
	if err := hb.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	store.ExpireLeases(t0.Add(14 * time.Second))
	if _, _, found := registered(t, store, "n1"); !found {
		t.Fatal("registration expired although renewed")
	}
	// Unrenewed for a whole TTL, it expires; the next renewal registers again.
	store.ExpireLeases(t0.Add(30 * time.Second))
	if _, _, found := registered(t, store, "n1"); found {
		t.Fatal("registration outlived its lease")
	}
	oldLease := hb.Lease()
	if err := hb.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if _, lease, found := registered(t, store, "n1"); !found || lease == oldLease {
		t.Errorf("after re-registration: found %v lease %d; want a new lease, not %d", found, lease, oldLease)
	}
	if testutil.ToFloat64(metrics.keepAliveFails) != 1 || testutil.ToFloat64(metrics.registrations) != 2 {
		t.Errorf("keepalive failures %g, registrations %g; want 1, 2",
			testutil.ToFloat64(metrics.keepAliveFails), testutil.ToFloat64(metrics.registrations))
	}
}

func TestHeartbeatRunRevokesOnShutdown(t *testing.T) {
	store := state.NewMemoryStore()
	hb, err := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hb.Run(ctx) }()
	waitFor(t, "registration", func() bool { _, _, found := registered(t, store, "n1"); return found })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, found := registered(t, store, "n1"); found {
		t.Error("registration still there after a graceful shutdown")
	}
}

func TestNewHeartbeatChecksConfig(t *testing.T) {
	store := state.NewMemoryStore()
	if _, err := NewHeartbeat(store, HeartbeatConfig{}); err == nil {
		t.Error("heartbeat without a node name accepted")
	}
	if _, err := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 1500 * time.Millisecond}); err == nil {
		t.Error("a TTL of 1.5 s accepted; leases count whole seconds")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An agent registers before it starts the reconciler (so its apps are not
// taken for lost) and then hands the heartbeat to Run: Run must keep that
// lease, not grant a second one that would linger until its TTL.
func TestHeartbeatRunKeepsAnEarlierRegistration(t *testing.T) {
	store := state.NewMemoryStore()
	metrics := NewMetrics(nil)
	hb, err := NewHeartbeat(store, HeartbeatConfig{Info: nodeInfo, TTL: 3 * time.Second, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hb.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.registrations); got != 1 {
		t.Errorf("registrations = %v, want 1: Run granted a second lease", got)
	}
}
