package state_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// The archive holds every event of the log in rotating files, and still
// does once the store has compacted the history away.
func TestArchiveLogOutlivesCompaction(t *testing.T) {
	store := state.NewMemoryStore()
	ctx := context.Background()
	put := func(i int) int64 {
		rev, err := store.Txn(ctx, state.Put(state.Keys.Observation("n1"), fmt.Appendf(nil, `{"node":"n1","interval_seconds":%d}`, i)))
		must(t, err)
		return rev
	}
	for i := range 5 {
		put(i)
	}
	dir := filepath.Join(t.TempDir(), "archive")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	var rotated int
	go func() {
		done <- state.ArchiveLog(runCtx, store, 1, state.ArchiveConfig{
			Dir: dir, MaxEvents: 4, Header: state.RecordingHeader{Mode: "store"},
			Rotated: func(string, int64, int64, int) { rotated++ },
		})
	}()
	var last int64
	for i := 5; i < 12; i++ {
		last = put(i)
	}
	want, err := state.ReadLog(ctx, store, state.Root, 1, last)
	must(t, err)
	waitArchived(t, dir, len(want))
	must(t, store.Compact(ctx, last))
	for i := 12; i < 15; i++ {
		put(i)
	}
	after, err := state.ReadLog(ctx, store, state.Root, last+1, last+3)
	must(t, err)
	want = append(want, after...)
	got := waitArchived(t, dir, len(want))
	stop()
	must(t, <-done)
	if !reflect.DeepEqual(got.Segments[0].Events, want) {
		t.Fatalf("archive holds %d events, want the log's %d:\n got  %v\n want %v", len(got.Segments[0].Events), len(want), got.Segments[0].Events, want)
	}
	if got.Header.Mode != "store" || rotated < 2 {
		t.Fatalf("header %+v after %d rotations, want the given header and at least 2 (4 events a file)", got.Header, rotated)
	}

	// From a compacted revision, nothing is archived: a gap could not be replayed.
	if err := state.ArchiveLog(ctx, store, 1, state.ArchiveConfig{Dir: t.TempDir()}); err == nil {
		t.Fatal("archived from a compacted revision")
	}
}

// waitArchived waits until the archive in dir holds n events, and returns it.
func waitArchived(t *testing.T, dir string, n int) state.Recording {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := state.ReadArchive(dir)
		if err == nil && len(got.Segments[0].Events) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the archive holds no %d events after 5 s (%v)", n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
