package state_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
	"github.com/sluice-io/sluice/state/storetest"
)

// startEmbedded runs a fresh etcd server on free loopback ports with its data
// in the test's temporary directory, and stops it when the test ends.
func startEmbedded(t *testing.T) *state.Embedded {
	t.Helper()
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		// etcd wants its data dir private (0700) and creates it so.
		DataDir:   filepath.Join(t.TempDir(), "etcd"),
		ClientURL: "http://127.0.0.1:0",
		PeerURL:   "http://127.0.0.1:0",
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return server
}

func newEtcdStore(t *testing.T) *state.EtcdStore {
	t.Helper()
	store, _ := newEtcdStoreWithServer(t)
	return store
}

func newEtcdStoreWithServer(t *testing.T) (*state.EtcdStore, *state.Embedded) {
	t.Helper()
	server := startEmbedded(t)
	cli, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewEtcdStore(cli)
	// Cleanups run last-in first-out: the store, then the client, then the server.
	t.Cleanup(func() { cli.Close() })
	t.Cleanup(func() { store.Close() })
	return store, server
}

func TestEtcdStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store { return newEtcdStore(t) })
}

// etcd expires leases on its own clock, with a floor of about 2 s on the
// ttl; the test polls well past that rather than guessing the moment.
func TestEtcdStoreLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	store := newEtcdStore(t)
	lease, err := store.Grant(ctx, 1)
	must(t, err)
	_, err = store.Txn(ctx, state.Op{Key: "/node", Value: []byte("up"), Lease: lease})
	must(t, err)
	watch := store.Watch(t.Context(), "/", 0)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, found, _, err := store.Get(ctx, "/node")
		must(t, err)
		if !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("key on a 1 s lease still present after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case resp := <-watch:
		if resp.Err != nil || len(resp.Events) != 1 || !resp.Events[0].Deleted || resp.Events[0].Key != "/node" {
			t.Fatalf("expiry event = %+v, want one delete of /node", resp)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delete event for the expired lease's key")
	}
}

// testWriter sends etcd's warnings to the test log, where they show only
// for a failing test or with -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
