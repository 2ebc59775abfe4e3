package state_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
	"github.com/sluice-io/sluice/state/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) state.Store {
		s := state.NewMemoryStore()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// The memory store's leases run on the owner's clock: a lease granted before
// the clock is known counts from the first ExpireLeases, KeepAlive counts
// from the latest one, and expiry deletes the keys at one revision.
func TestMemoryStoreLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	s := state.NewMemoryStore()
	defer s.Close()
	early, err := s.Grant(ctx, 10)
	must(t, err)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if expired := s.ExpireLeases(start); len(expired) != 0 {
		t.Fatalf("first ExpireLeases expired %v: a lease granted before the clock must count from it", expired)
	}
	late, err := s.Grant(ctx, 5)
	must(t, err)
	_, err = s.Txn(ctx,
		state.Op{Key: "/early/a", Value: []byte("1"), Lease: early},
		state.Op{Key: "/early/b", Value: []byte("2"), Lease: early},
		state.Op{Key: "/late", Value: []byte("3"), Lease: late})
	must(t, err)
	watch := s.Watch(t.Context(), "/", 0)

	if expired := s.ExpireLeases(start.Add(4 * time.Second)); len(expired) != 0 {
		t.Fatalf("at +4s expired %v, want none", expired)
	}
	must(t, s.KeepAlive(ctx, late)) // now due at +9s
	if expired := s.ExpireLeases(start.Add(8 * time.Second)); len(expired) != 0 {
		t.Fatalf("at +8s expired %v, want none (late was kept alive at +4s)", expired)
	}
	// Time going back is ignored, so this is still +8s.
	s.ExpireLeases(start)
	expired := s.ExpireLeases(start.Add(10 * time.Second))
	if len(expired) != 2 || expired[0] != early || expired[1] != late {
		t.Fatalf("at +10s expired %v, want [%d %d]", expired, early, late)
	}
	var events []state.Event
	for len(events) < 3 {
		select {
		case resp := <-watch:
			events = append(events, resp.Events...)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d of 3 expiry events", len(events))
		}
	}
	want := []state.Event{
		{Revision: 3, Key: "/early/a", Deleted: true},
		{Revision: 3, Key: "/early/b", Deleted: true},
		{Revision: 4, Key: "/late", Deleted: true},
	}
	for i := range want {
		if events[i].Revision != want[i].Revision || events[i].Key != want[i].Key || !events[i].Deleted {
			t.Fatalf("expiry event %d = %+v, want %+v", i, events[i], want[i])
		}
	}
	if err := s.KeepAlive(ctx, early); !errors.Is(err, state.ErrLeaseNotFound) {
		t.Fatalf("KeepAlive of an expired lease = %v, want ErrLeaseNotFound", err)
	}
}

func TestMemoryStoreClosedEndsWatches(t *testing.T) {
	s := state.NewMemoryStore()
	watch := s.Watch(t.Context(), "/", 0)
	if _, err := s.Txn(context.Background(), state.Put("/k", []byte("v"))); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var sawEvent bool
	for resp := range watch {
		if resp.Err == nil {
			sawEvent = true
			continue
		}
		if !sawEvent || !errors.Is(resp.Err, state.ErrStoreClosed) {
			t.Fatalf("watch ended with %v after event %v, want the queued event then ErrStoreClosed", resp.Err, sawEvent)
		}
		return
	}
	t.Fatal("watch closed without ErrStoreClosed")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
