package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
	"github.com/sluice-io/sluice/state/storetest"
)

func newEtcdStore(t *testing.T) *state.EtcdStore {
	t.Helper()
	store, _ := newEtcdStoreWithServer(t)
	return store
}

func newEtcdStoreWithServer(t *testing.T) (*state.EtcdStore, *state.Embedded) {
	server, store := etcdtest.Embedded(t)
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
