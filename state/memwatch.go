package state

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// memWatcher queues one watch's events between the writers, which must never
// wait, and the goroutine that hands them to the reader at its own pace.
type memWatcher struct {
	prefix string
	mu     sync.Mutex
	// queue holds one response per revision, or per progress request,
	// oldest first.
	queue []WatchResponse
	// err ends the watch once the queue is drained.
	err error
	// wake has room for one signal: a writer that finds it full knows the
	// reader goroutine will look at the queue anyway.
	wake chan struct{}
}

func newMemWatcher(prefix string) *memWatcher {
	return &memWatcher{prefix: prefix, wake: make(chan struct{}, 1)}
}

// enqueue queues the events of revision rev; none, unless progress says
// the reader asked to hear of the revision anyway.
func (w *memWatcher) enqueue(events []Event, rev int64, progress bool) {
	if len(events) == 0 && !progress {
		return
	}
	w.mu.Lock()
	w.queue = append(w.queue, WatchResponse{Events: events, Revision: rev})
	w.mu.Unlock()
	w.nudge()
}

func (w *memWatcher) fail(err error) {
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	w.nudge()
}

func (w *memWatcher) nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// next returns the oldest queued response, or else the error that ends
// the watch; ok is false and the error nil when the reader has caught up.
func (w *memWatcher) next() (resp WatchResponse, ok bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		resp = w.queue[0]
		w.queue[0] = WatchResponse{}
		w.queue = w.queue[1:]
		return resp, true, nil
	}
	return WatchResponse{}, false, w.err
}

// Watch streams the events under prefix from fromRev on, one response per
// revision. Replay and registration happen under the store's lock, so the
// replayed history and the live writes join without a gap or a repeat.
func (s *MemoryStore) Watch(ctx context.Context, prefix string, fromRev int64) <-chan WatchResponse {
	w := newMemWatcher(prefix)
	s.mu.Lock()
	switch {
	case s.closed:
		w.fail(fmt.Errorf("watch %s: %w", prefix, ErrStoreClosed))
	case fromRev < 0:
		w.fail(fmt.Errorf("watch %s from revision %d: the revision must be 0 (now) or more", prefix, fromRev))
	case fromRev > 0 && fromRev < s.compact:
		w.fail(fmt.Errorf("watch %s from revision %d: %w", prefix, fromRev, &CompactedError{CompactRevision: s.compact}))
	default:
		if fromRev > 0 {
			s.replay(w, fromRev)
		}
		s.watchers[w] = struct{}{}
	}
	s.mu.Unlock()
	out := make(chan WatchResponse)
	go s.serve(ctx, w, out)
	return out
}

// replay queues the recorded events from fromRev on, batched by revision.
func (s *MemoryStore) replay(w *memWatcher, fromRev int64) {
	start := sort.Search(len(s.history), func(i int) bool { return s.history[i].Revision >= fromRev })
	for start < len(s.history) {
		end := start + 1
		for end < len(s.history) && s.history[end].Revision == s.history[start].Revision {
			end++
		}
		w.enqueue(filterPrefix(s.history[start:end], w.prefix), s.history[start].Revision, false)
		start = end
	}
}

// serve owns out: it alone sends on it and closes it, when ctx ends or after
// the error that ends the watch.
func (s *MemoryStore) serve(ctx context.Context, w *memWatcher, out chan<- WatchResponse) {
	defer close(out)
	defer s.removeWatcher(w)
	for {
		resp, ok, err := w.next()
		switch {
		case ok:
			resp.Events = copyEvents(resp.Events)
		case err != nil:
			resp = WatchResponse{Err: err}
		default:
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		select {
		case out <- resp:
		case <-ctx.Done():
			return
		}
		if resp.Err != nil {
			return
		}
	}
}

func (s *MemoryStore) removeWatcher(w *memWatcher) {
	s.mu.Lock()
	delete(s.watchers, w)
	s.mu.Unlock()
}

// copyEvents gives the reader values it may change without touching the
// store's history.
func copyEvents(events []Event) []Event {
	out := make([]Event, len(events))
	for i, ev := range events {
		out[i] = ev
		if ev.Value != nil {
			out[i].Value = append([]byte{}, ev.Value...)
		}
	}
	return out
}

// RequestProgress queues, behind what every watch has queued, a response
// with the current revision and no events.
func (s *MemoryStore) RequestProgress(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("request watch progress: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("request watch progress: %w", ErrStoreClosed)
	}
	for w := range s.watchers {
		w.enqueue(nil, s.rev, true)
	}
	return nil
}
