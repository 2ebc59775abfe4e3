package traces

import "sync"

// queue holds decoded spans between the receivers and the core. It is
// bounded in spans, not in requests, because one request may carry
// thousands: whatever does not fit is refused and the caller counts it.
type queue struct {
	mu       sync.Mutex
	batches  [][]Span
	spans    int
	capacity int
	// ready has room for one signal: a push while the core is busy
	// leaves it set, so the core never sleeps on queued spans.
	ready chan struct{}
}

func newQueue(capacity int) *queue {
	return &queue{capacity: capacity, ready: make(chan struct{}, 1)}
}

// push queues as many of spans as fit and reports how many that was.
func (q *queue) push(spans []Span) (kept int) {
	if len(spans) == 0 {
		return 0
	}
	q.mu.Lock()
	kept = min(len(spans), q.capacity-q.spans)
	if kept > 0 {
		q.batches = append(q.batches, spans[:kept])
		q.spans += kept
	}
	q.mu.Unlock()
	if kept > 0 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return kept
}

// take empties the queue, handing its batches to the caller, and gives
// back the slice the caller passed for reuse.
func (q *queue) take(reuse [][]Span) [][]Span {
	q.mu.Lock()
	defer q.mu.Unlock()
	taken := q.batches
	q.batches = reuse[:0]
	q.spans = 0
	return taken
}

// len is the number of spans queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.spans
}
