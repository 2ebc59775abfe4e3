package traces

import (
	"container/list"
	"slices"
	"time"
)

// TraceSummary is one finished trace as `sluice traces APP` lists it.
type TraceSummary struct {
	TraceID string `json:"trace_id"`
	App     string `json:"app"`
	// Root names the span the end-to-end latency comes from.
	Root          string    `json:"root"`
	RootContainer string    `json:"root_container"`
	Start         time.Time `json:"start"`
	DurationMs    float64   `json:"duration_ms"`
	Error         bool      `json:"error,omitempty"`
	Spans         int       `json:"spans"`
	// Containers are those that emitted spans of the trace, sorted.
	Containers []string `json:"containers"`
	// Complete says the trace's true root (a span without a parent) was
	// seen; otherwise the latency spans the topmost spans that were.
	Complete bool `json:"complete"`
	// Evicted says the trace was closed before its wait for late spans
	// ended, because the open traces reached their bound.
	Evicted bool `json:"evicted,omitempty"`
	// Tree holds the trace's first spans by start time, the root first, at
	// most MaxTreeSpans of them: enough to draw its span tree and the calls
	// between containers. TreeTruncated says some were left out.
	Tree          []SpanSummary `json:"tree,omitempty"`
	TreeTruncated bool          `json:"tree_truncated,omitempty"`

	duration time.Duration
}

// MaxTreeSpans bounds the spans a finished trace keeps (TraceSummary.Tree).
const MaxTreeSpans = 64

// SpanSummary is one span of a finished trace.
type SpanSummary struct {
	ID        string `json:"id"`
	Parent    string `json:"parent,omitempty"`
	Name      string `json:"name"`
	Container string `json:"container"`
	// StartMs is the span's start after the trace's start.
	StartMs    float64 `json:"start_ms"`
	DurationMs float64 `json:"duration_ms"`
	Error      bool    `json:"error,omitempty"`
}

// spanRecord is what an open trace keeps of each span: enough to find the
// topmost spans once the trace is complete.
type spanRecord struct {
	id, parent SpanID
	start      time.Time
	duration   time.Duration
	name       string
	app        string
	container  string
	failed     bool
}

func (r spanRecord) end() time.Time { return r.start.Add(r.duration) }

// openTrace is a trace whose spans may still arrive.
type openTrace struct {
	id TraceID
	// root is the span without a parent, kept apart from spans so that it
	// survives the per-trace bound.
	root    spanRecord
	hasRoot bool
	spans   []spanRecord
	// seen counts every span, stored or not.
	seen     int
	lastTick uint64
	age      *list.Element
}

// summarize closes the trace: its latency is its root span's duration,
// or, when the root never came (its caller is not traced by sluice), the
// extent of the spans whose parents never came.
func (t *openTrace) summarize() TraceSummary {
	s := TraceSummary{TraceID: t.id.String(), Spans: t.seen, Containers: t.containers()}
	if t.hasRoot {
		s.Complete = true
		s.setRoot(t.root, t.root.end(), t.root.failed)
		return s
	}
	tops := t.topmost()
	if len(tops) == 0 {
		return s
	}
	first, end, failed := tops[0], tops[0].end(), false
	for _, r := range tops {
		if r.start.Before(first.start) {
			first = r
		}
		if r.end().After(end) {
			end = r.end()
		}
		failed = failed || r.failed
	}
	s.setRoot(first, end, failed)
	return s
}

func (s *TraceSummary) setRoot(root spanRecord, end time.Time, failed bool) {
	s.App, s.Root, s.RootContainer = root.app, root.name, root.container
	s.Start = root.start
	s.duration = end.Sub(root.start)
	s.DurationMs = milliseconds(s.duration)
	s.Error = failed
}

// topmost are the stored spans whose parent is not among the stored spans.
func (t *openTrace) topmost() []spanRecord {
	ids := make(map[SpanID]bool, len(t.spans))
	for _, r := range t.spans {
		ids[r.id] = true
	}
	var tops []spanRecord
	for _, r := range t.spans {
		if !ids[r.parent] {
			tops = append(tops, r)
		}
	}
	return tops
}

// tree is the trace's first spans by start, the root first, relative to
// start, and whether some were left out.
func (t *openTrace) tree(start time.Time) ([]SpanSummary, bool) {
	records := slices.Clone(t.spans)
	slices.SortStableFunc(records, func(a, b spanRecord) int { return a.start.Compare(b.start) })
	if t.hasRoot {
		records = slices.Insert(records, 0, t.root)
	}
	truncated := len(records) > MaxTreeSpans
	records = records[:min(len(records), MaxTreeSpans)]
	out := make([]SpanSummary, len(records))
	for i, r := range records {
		out[i] = SpanSummary{ID: r.id.String(), Name: r.name, Container: r.container,
			StartMs: milliseconds(r.start.Sub(start)), DurationMs: milliseconds(r.duration), Error: r.failed}
		if !r.parent.IsZero() {
			out[i].Parent = r.parent.String()
		}
	}
	return out, truncated
}

func (t *openTrace) containers() []string {
	names := make([]string, 0, len(t.spans)+1)
	if t.hasRoot {
		names = append(names, t.root.container)
	}
	for _, r := range t.spans {
		names = append(names, r.container)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// recentTraces is a ring of an app's latest finished traces.
type recentTraces struct {
	ring []TraceSummary
	next int
	full bool
}

func (r *recentTraces) push(s TraceSummary) {
	r.ring[r.next] = s
	r.next = (r.next + 1) % len(r.ring)
	r.full = r.full || r.next == 0
}

// latest returns up to limit summaries, newest first.
func (r *recentTraces) latest(limit int) []TraceSummary {
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]TraceSummary, 0, limit)
	for i := 1; i <= limit; i++ {
		out = append(out, r.ring[(r.next-i+len(r.ring))%len(r.ring)])
	}
	return out
}
