package sensors

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-io/sluice/state"
)

// flakyStore is a MemoryStore whose writes fail while it is down, as an
// unreachable etcd's would.
type flakyStore struct {
	*state.MemoryStore
	down atomic.Bool
}

var errUnreachable = errors.New("store unreachable")

func (s *flakyStore) Txn(ctx context.Context, ops ...state.Op) (int64, error) {
	if s.down.Load() {
		return 0, errUnreachable
	}
	return s.MemoryStore.Txn(ctx, ops...)
}

func observationAt(node string, seconds int) state.Observation {
	return state.Observation{Node: node, Time: t0.Add(time.Duration(seconds) * time.Second), IntervalSeconds: 1, Containers: []state.ContainerObservation{}}
}

func TestStoreWriterFailsStatic(t *testing.T) {
	ctx := context.Background()
	store := &flakyStore{MemoryStore: state.NewMemoryStore()}
	metrics := NewMetrics(prometheus.NewRegistry())
	writer := NewStoreWriter(store, StoreWriterConfig{Capacity: 2}, metrics, discardLogger())
	startRev := store.Revision()

	if rev, err := writer.Export(ctx, observationAt("n1", 1)); err != nil || rev != startRev+1 {
		t.Fatalf("first export = revision %d, %v; want %d", rev, err, startRev+1)
	}
	store.down.Store(true)
	for s := 2; s <= 4; s++ {
		if _, err := writer.Export(ctx, observationAt("n1", s)); !errors.Is(err, errUnreachable) {
			t.Fatalf("export while down: err = %v; want it to say the store is unreachable", err)
		}
	}
	if writer.Buffered() != 2 || testutil.ToFloat64(metrics.dropped) != 1 || testutil.ToFloat64(metrics.buffered) != 2 {
		t.Errorf("buffered %d, dropped %g; want 2 buffered and the oldest (second 2) dropped",
			writer.Buffered(), testutil.ToFloat64(metrics.dropped))
	}
	store.down.Store(false)
	rev, err := writer.Export(ctx, observationAt("n1", 5))
	if err != nil {
		t.Fatal(err)
	}
	if rev != store.Revision() {
		t.Fatalf("export after the outage = revision %d, want %d: the revision its own observation was written at", rev, store.Revision())
	}

	events, err := state.ReadLog(ctx, store, state.Keys.Observation("n1"), startRev+1, store.Revision())
	if err != nil {
		t.Fatal(err)
	}
	var seconds []int
	for _, ev := range events {
		var obs state.Observation
		if err := json.Unmarshal(ev.Value, &obs); err != nil {
			t.Fatal(err)
		}
		seconds = append(seconds, int(obs.Time.Sub(t0).Seconds()))
	}
	want := []int{1, 3, 4, 5}
	if len(seconds) != len(want) {
		t.Fatalf("written seconds %v; want %v", seconds, want)
	}
	for i := range want {
		if seconds[i] != want[i] {
			t.Fatalf("written seconds %v; want %v, one event each, in order", seconds, want)
		}
	}
	if writer.Buffered() != 0 || testutil.ToFloat64(metrics.written) != 4 || testutil.ToFloat64(metrics.writeFailures) != 4 {
		// Second 4 found the buffer full and tried the store before dropping.
		t.Errorf("after flush: buffered %d written %g failures %g; want 0, 4, 4",
			writer.Buffered(), testutil.ToFloat64(metrics.written), testutil.ToFloat64(metrics.writeFailures))
	}
	// What was written folds into the view like any observation.
	view, err := state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Errors) != 0 || !view.Observations["n1"].Time.Equal(t0.Add(5*time.Second)) {
		t.Errorf("view: errors %v, observation %+v; want the newest observation, no errors", view.Errors, view.Observations["n1"])
	}
}
