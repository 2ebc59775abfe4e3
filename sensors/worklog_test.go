package sensors

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// fakeStreams plays literal log streams: each Logs call for a container
// takes the next stream queued for it and writes its chunks as the test
// sends them. Closing a stream's channel ends the call with the stream's
// error, as a container that stops ends a follow.
type fakeStreams struct {
	mu      sync.Mutex
	streams map[string][]*fakeStream
	calls   map[string]int
}

type fakeStream struct {
	chunks chan string
	err    error
}

func newFakeStreams() *fakeStreams {
	return &fakeStreams{streams: map[string][]*fakeStream{}, calls: map[string]int{}}
}

// queue adds a stream for the container with that runtime ID.
func (f *fakeStreams) queue(runtimeID string, err error) *fakeStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeStream{chunks: make(chan string, 64), err: err}
	f.streams[runtimeID] = append(f.streams[runtimeID], s)
	return s
}

func (f *fakeStreams) Logs(ctx context.Context, c state.Container, follow bool, w io.Writer) error {
	f.mu.Lock()
	f.calls[c.RuntimeID]++
	queued := f.streams[c.RuntimeID]
	if len(queued) == 0 {
		f.mu.Unlock()
		return errors.New("no such container")
	}
	s := queued[0]
	f.streams[c.RuntimeID] = queued[1:]
	f.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case chunk, ok := <-s.chunks:
			if !ok {
				return s.err
			}
			if _, err := io.WriteString(w, chunk); err != nil {
				return err
			}
		}
	}
}

func (f *fakeStreams) callsFor(runtimeID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[runtimeID]
}

type manualTime struct {
	mu  sync.Mutex
	now time.Time
}

func (m *manualTime) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualTime) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
}

var sineloadContainer = state.Container{ID: "victim/sineload", App: "victim", Name: "sineload", RuntimeID: "abc123", Running: true}

func newTestWorkLog(t *testing.T, streams *fakeStreams, config WorkLogConfig) (*WorkLog, *manualTime) {
	t.Helper()
	clock := &manualTime{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	config.Logs = streams
	config.Clock = clock.Now
	config.Logger = discardLogger()
	wl, err := NewWorkLog(context.Background(), config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wl.Close() })
	return wl, clock
}

// waitFor polls the work log's counters until cond holds: the followers
// run on their own goroutines.
func waitForLog(t *testing.T, wl *WorkLog, what string, cond func(WorkLogStats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(wl.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v", what, wl.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func wantWork(t *testing.T, got *state.WorkReport, want state.WorkReport) {
	t.Helper()
	if got == nil {
		t.Fatalf("work = nil, want %+v", want)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(got.Arrived, want.Arrived) || !near(got.Served, want.Served) || !near(got.Backlog, want.Backlog) {
		t.Fatalf("work = %+v, want %+v", *got, want)
	}
}

func TestWorkLogSumsReportsSinceThePreviousCall(t *testing.T) {
	streams := newFakeStreams()
	stream := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{})

	if got := wl.Work(sineloadContainer); got != nil {
		t.Fatalf("first call = %+v, want nil: it only starts following", *got)
	}
	// Chunks cut lines anywhere, as a log stream's frames may.
	stream.chunks <- `{"t":0.05,"arrived":0.025,"served":0.02,"backlog":0.005,"demand":0.5}` + "\n" + `{"t":0.1,"arr`
	stream.chunks <- `ived":0.03,"served":0.025,"backlog":0.01}` + "\n"
	stream.chunks <- `{"t":0.15,"arrived":0.02,"served":0.03,"backlog":0.0}` + "\n"
	waitForLog(t, wl, "three reports", func(s WorkLogStats) bool { return s.Reports == 3 })
	// The clock moves as the reports do, so no rescaling is involved.
	clock.Advance(150 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.075, Served: 0.075, Backlog: 0})

	if got := wl.Work(sineloadContainer); got != nil {
		t.Fatalf("a call with nothing new = %+v, want nil", *got)
	}
	stream.chunks <- `{"t":0.2,"arrived":0.04,"served":0.01,"backlog":0.03}` + "\n"
	waitForLog(t, wl, "a fourth report", func(s WorkLogStats) bool { return s.Reports == 4 })
	clock.Advance(50 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.04, Served: 0.01, Backlog: 0.03})
}

// Reports every 50 ms on the workload's clock fall six, then four, into
// two intervals of 250 ms; the rate of work is the same in both.
func TestWorkLogRescalesToTheInterval(t *testing.T) {
	streams := newFakeStreams()
	stream := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{})
	wl.Work(sineloadContainer)
	report := func(at float64) string {
		return `{"t":` + strconv.FormatFloat(at, 'f', -1, 64) + `,"arrived":0.04,"served":0.04,"backlog":0}` + "\n"
	}
	for _, at := range []float64{0.05, 0.1, 0.15, 0.2, 0.25, 0.3} {
		stream.chunks <- report(at)
	}
	waitForLog(t, wl, "six reports", func(s WorkLogStats) bool { return s.Reports == 6 })
	clock.Advance(250 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.2, Served: 0.2})
	for _, at := range []float64{0.35, 0.4, 0.45, 0.5} {
		stream.chunks <- report(at)
	}
	waitForLog(t, wl, "four more", func(s WorkLogStats) bool { return s.Reports == 10 })
	clock.Advance(250 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.2, Served: 0.2})
}

func TestWorkLogSkipsMalformedLines(t *testing.T) {
	streams := newFakeStreams()
	stream := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{MaxLineBytes: 100})
	wl.Work(sineloadContainer)
	stream.chunks <- strings.Join([]string{
		"sineload: starting",
		`{"arrived":"lots","served":0,"backlog":0}`,
		`{"t":1,"arrived":0.1,"served":0.1}`,
		`{"t":1,"arrived":-0.1,"served":0.1,"backlog":0}`,
		`{"t":1,"arrived":0.1,"served":0.1,"backlog":0,"pad":"` + strings.Repeat("x", 200) + `"}`,
		"",
		`{"t":1.05,"arrived":0.2,"served":0.1,"backlog":0.1}`,
		`[1,2,3]`,
	}, "\n") + "\n"
	waitForLog(t, wl, "every line read", func(s WorkLogStats) bool { return s.Reports+s.Malformed == 7 })
	if s := wl.Stats(); s.Reports != 1 || s.Malformed != 6 {
		t.Fatalf("stats %+v, want 1 report and 6 malformed lines (the blank one is not counted)", s)
	}
	clock.Advance(250 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.2, Served: 0.1, Backlog: 0.1})
}

func TestWorkLogBoundsWhatItKeeps(t *testing.T) {
	streams := newFakeStreams()
	stream := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{MaxReports: 2})
	wl.Work(sineloadContainer)
	for _, line := range []string{
		`{"t":0.1,"arrived":1,"served":1,"backlog":0}`,
		`{"t":0.2,"arrived":2,"served":2,"backlog":0}`,
		`{"t":0.3,"arrived":4,"served":4,"backlog":0}`,
		`{"t":0.4,"arrived":8,"served":7,"backlog":1}`,
	} {
		stream.chunks <- line + "\n"
	}
	waitForLog(t, wl, "four reports", func(s WorkLogStats) bool { return s.Reports == 4 })
	// The two kept reports cover 0.2 s of the workload's time.
	clock.Advance(200 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 12, Served: 11, Backlog: 1})
	if s := wl.Stats(); s.Dropped != 2 {
		t.Fatalf("dropped %d, want the 2 oldest", s.Dropped)
	}
}

// A follower reads a container's log from its start; what the container
// reported long before it was first asked about is not this interval's
// work.
func TestWorkLogLeavesTheHistoryOut(t *testing.T) {
	streams := newFakeStreams()
	stream := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{Slack: 10 * time.Millisecond})
	wl.Work(sineloadContainer)
	var history strings.Builder
	for second := 1; second <= 100; second++ {
		history.WriteString(`{"t":` + strconv.Itoa(second) + `,"arrived":1,"served":1,"backlog":` + strconv.Itoa(second) + "}\n")
	}
	stream.chunks <- history.String()
	waitForLog(t, wl, "the history", func(s WorkLogStats) bool { return s.Reports == 100 })
	clock.Advance(time.Second)
	// The window reaches back 1 s + 10 ms from t = 100: t = 99 and 100,
	// which cover 2 s of the workload's time, rescaled to the 1 s asked.
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 1, Served: 1, Backlog: 100})
	if s := wl.Stats(); s.Stale != 98 {
		t.Fatalf("stale %d, want 98", s.Stale)
	}
}

// A log stream that breaks while the container runs is followed again,
// from the container's start, and nothing is counted twice.
func TestWorkLogFollowsAgainWithoutCountingTwice(t *testing.T) {
	streams := newFakeStreams()
	first := streams.queue(sineloadContainer.RuntimeID, errors.New("unexpected EOF"))
	second := streams.queue(sineloadContainer.RuntimeID, nil)
	wl, clock := newTestWorkLog(t, streams, WorkLogConfig{RestartDelay: time.Second})
	wl.Work(sineloadContainer)
	early := `{"t":0.25,"arrived":0.1,"served":0.1,"backlog":0}` + "\n" + `{"t":0.5,"arrived":0.2,"served":0.2,"backlog":0}` + "\n"
	first.chunks <- early
	close(first.chunks)
	waitForLog(t, wl, "the broken stream to end", func(s WorkLogStats) bool { return s.Reports == 2 && s.Followers == 0 })
	clock.Advance(500 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.3, Served: 0.3})
	if n := streams.callsFor(sineloadContainer.RuntimeID); n != 1 {
		t.Fatalf("followed %d times before the restart delay passed, want 1", n)
	}

	clock.Advance(time.Second)
	second.chunks <- early + `{"t":0.75,"arrived":0.4,"served":0.3,"backlog":0.1}` + "\n"
	wl.Work(sineloadContainer)
	waitForLog(t, wl, "the stream read again", func(s WorkLogStats) bool { return s.Reports == 5 })
	clock.Advance(250 * time.Millisecond)
	wantWork(t, wl.Work(sineloadContainer), state.WorkReport{Arrived: 0.4, Served: 0.3, Backlog: 0.1})
}

func TestWorkLogFollowersEndWithTheirContainerOrClose(t *testing.T) {
	streams := newFakeStreams()
	gone := streams.queue("gone", nil)
	streams.queue("stays", nil)
	wl, _ := newTestWorkLog(t, streams, WorkLogConfig{})
	wl.Work(state.Container{ID: "a/gone", RuntimeID: "gone", Running: true})
	wl.Work(state.Container{ID: "b/stays", RuntimeID: "stays", Running: true})
	waitForLog(t, wl, "two followers", func(s WorkLogStats) bool { return s.Followers == 2 })
	close(gone.chunks)
	waitForLog(t, wl, "the removed container's follower to end", func(s WorkLogStats) bool { return s.Followers == 1 })
	wl.Close()
	if s := wl.Stats(); s.Followers != 0 {
		t.Fatalf("%d followers still running after Close", s.Followers)
	}
	if got := wl.Work(state.Container{ID: "c/new", RuntimeID: "new", Running: true}); got != nil || wl.Stats().Followers != 0 {
		t.Fatal("a closed work log started a follower")
	}
}

func TestParseWorkLine(t *testing.T) {
	good, err := parseWorkLine([]byte(`{"t":1.25,"arrived":0.1875,"served":0.125,"backlog":0.0625,"demand":0.75}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (workLine{T: 1.25, HasT: true, Arrived: 0.1875, Served: 0.125, Backlog: 0.0625}); good != want {
		t.Fatalf("parsed %+v, want %+v", good, want)
	}
	undated, err := parseWorkLine([]byte(`{"arrived":0,"served":0,"backlog":0}`))
	if err != nil || undated.HasT {
		t.Fatalf("a report without t: %+v, %v", undated, err)
	}
	for _, bad := range []string{`{`, `"text"`, `{"arrived":1,"served":1}`, `{"arrived":1,"served":-1,"backlog":0}`, `{"arrived":null,"served":1,"backlog":0}`} {
		if _, err := parseWorkLine([]byte(bad)); err == nil {
			t.Errorf("parseWorkLine(%s) succeeded, want an error", bad)
		}
	}
}
