package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, s state.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Txn(context.Background(), state.Put(key, []byte(value)))
	must(t, err)
	return rev
}

func del(t *testing.T, s state.Store, key string) int64 {
	t.Helper()
	rev, err := s.Txn(context.Background(), state.Delete(key))
	must(t, err)
	return rev
}

// watchContext ends with the test, which closes the watches it opened.
func watchContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// receive waits for one response; ok is false if the channel closed.
func receive(t *testing.T, watch <-chan state.WatchResponse) (state.WatchResponse, bool) {
	t.Helper()
	select {
	case resp, ok := <-watch:
		return resp, ok
	case <-time.After(waitFor):
		t.Fatalf("no watch response within %v", waitFor)
		return state.WatchResponse{}, false
	}
}

// collect reads exactly n events, failing on an error, a closed channel, a
// revision that goes back, or a wait past waitFor.
func collect(t *testing.T, watch <-chan state.WatchResponse, n int) []state.Event {
	t.Helper()
	var events []state.Event
	for len(events) < n {
		resp, ok := receive(t, watch)
		if !ok {
			t.Fatalf("watch closed after %d of %d events", len(events), n)
		}
		if resp.Err != nil {
			t.Fatalf("watch failed after %d of %d events: %v", len(events), n, resp.Err)
		}
		events = append(events, resp.Events...)
	}
	if len(events) > n {
		t.Fatalf("watch delivered %d events, want %d: %s", len(events), n, describeEvents(events))
	}
	checkOrder(t, events)
	return events
}

// collectQuiet is collect for a goroutine other than the test's: it returns
// what it got and leaves the judging to the caller.
func collectQuiet(watch <-chan state.WatchResponse, n int) []state.Event {
	var events []state.Event
	deadline := time.After(waitFor)
	for len(events) < n {
		select {
		case resp, ok := <-watch:
			if !ok || resp.Err != nil {
				return events
			}
			events = append(events, resp.Events...)
		case <-deadline:
			return events
		}
	}
	return events
}

func checkOrder(t *testing.T, events []state.Event) {
	t.Helper()
	for i := 1; i < len(events); i++ {
		if events[i].Revision < events[i-1].Revision {
			t.Fatalf("watch went back from revision %d to %d: %s",
				events[i-1].Revision, events[i].Revision, describeEvents(events))
		}
	}
}

// describeEvents renders events as "rev:put key=value" or "rev:delete key",
// which makes a wrong order or a missing event plain in a failure message.
func describeEvents(events []state.Event) string {
	parts := make([]string, len(events))
	for i, ev := range events {
		if ev.Deleted {
			parts[i] = fmt.Sprintf("%d:delete %s", ev.Revision, ev.Key)
		} else {
			parts[i] = fmt.Sprintf("%d:put %s=%s", ev.Revision, ev.Key, ev.Value)
		}
	}
	return strings.Join(parts, " ")
}

func describeKVs(kvs []state.KeyValue) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = fmt.Sprintf("%s=%s@%d", kv.Key, kv.Value, kv.ModRevision)
	}
	return strings.Join(parts, " ")
}

func keysOf(kvs []state.KeyValue) string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return strings.Join(keys, " ")
}
