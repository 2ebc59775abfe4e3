package sensors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sluice-io/sluice/state"
)

// LogStreamer copies a container's output to w; with follow it keeps
// copying until the container stops or ctx ends. *docker.Runtime is one.
type LogStreamer interface {
	Logs(ctx context.Context, c state.Container, follow bool, w io.Writer) error
}

// WorkLogConfig wires a WorkLog. Logs is required; zero values take the
// defaults in brackets.
type WorkLogConfig struct {
	Logs LogStreamer
	// Clock measures the time between two calls of Work [time.Now].
	Clock func() time.Time
	// MaxReports bounds the reports kept per container between two calls
	// of Work; the oldest are dropped first and counted [4096].
	MaxReports int
	// MaxLineBytes bounds one line of output; a longer one is skipped and
	// counted as malformed [4096].
	MaxLineBytes int
	// Slack is how much older than the interval since the previous call a
	// report may be and still count [1 s]. Reports older still are the
	// history a new follower reads from the container's start.
	Slack time.Duration
	// RestartDelay spaces the attempts to follow again a running
	// container whose log stream broke [1 s].
	RestartDelay time.Duration
	Logger       *slog.Logger
}

// forgetAfter is how long a container whose log stream ended stays known
// without being asked about; sweepEvery is how often that is checked.
const (
	forgetAfter = time.Minute
	sweepEvery  = 10 * time.Second
)

func (c WorkLogConfig) withDefaults() WorkLogConfig {
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.MaxReports <= 0 {
		c.MaxReports = 4096
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = 4096
	}
	if c.Slack <= 0 {
		c.Slack = time.Second
	}
	if c.RestartDelay <= 0 {
		c.RestartDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WorkLogStats counts what the followers read.
type WorkLogStats struct {
	// Followers is how many log streams are open now.
	Followers int
	// Reports counts the lines parsed as work reports.
	Reports uint64
	// Malformed counts the lines skipped: not JSON, missing or negative
	// fields, or longer than MaxLineBytes.
	Malformed uint64
	// Dropped counts reports lost because a container's buffer was full.
	Dropped uint64
	// Stale counts reports left out as older than the interval asked
	// about (a container's history, read when a follower starts).
	Stale uint64
}

// WorkLog is a WorkSource that reads the work reports a workload prints on
// its output, one JSON object a line, as sineload does:
//
//	{"t":1.25,"arrived":0.1875,"served":0.1875,"backlog":0.001}
//
// A container's log is followed from the first time Work is asked about it,
// by one goroutine that ends when the container's log stream does (the
// container stopped or was removed) or when the WorkLog is closed. Work is
// safe for concurrent use.
type WorkLog struct {
	config WorkLogConfig
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	logger *slog.Logger

	mu        sync.Mutex
	followed  map[string]*followedLog
	lastSweep time.Time
	stats     WorkLogStats
}

var _ WorkSource = (*WorkLog)(nil)

// followedLog is what has been read from one container since Work last
// asked about it.
type followedLog struct {
	container state.Container
	reports   []workLine
	lastPoll  time.Time
	// newestT is the newest report time handed out, so that a follower
	// that starts over from the container's start counts nothing twice.
	newestT float64
	seenT   bool
	running bool
	endedAt time.Time
}

// workLine is one parsed report; T is the workload's own clock, seconds
// since it started, when it gives one.
type workLine struct {
	T       float64
	HasT    bool
	Arrived float64
	Served  float64
	Backlog float64
}

// NewWorkLog returns a WorkLog whose followers run until ctx ends or Close.
func NewWorkLog(ctx context.Context, config WorkLogConfig) (*WorkLog, error) {
	if config.Logs == nil {
		return nil, errors.New("work log: WorkLogConfig.Logs is required")
	}
	config = config.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	return &WorkLog{
		config: config, ctx: ctx, cancel: cancel,
		logger:   config.Logger.With("sensor", "worklog"),
		followed: map[string]*followedLog{},
	}, nil
}

// Work returns the work arrived and served that c reported since the
// previous call, with the latest backlog; nil when it reported nothing
// new. Dated reports are summed and rescaled to the interval between the
// two calls (see drain); undated ones are summed as they are. The first
// call for a container starts following its log and returns nil.
func (w *WorkLog) Work(c state.Container) *state.WorkReport {
	now := w.config.Clock()
	key := followKey(c)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sweep(now)
	f := w.followed[key]
	if f == nil {
		f = &followedLog{container: c, lastPoll: now}
		w.followed[key] = f
		w.startFollower(key, f)
		return nil
	}
	if !f.running && w.ctx.Err() == nil && now.Sub(f.endedAt) >= w.config.RestartDelay {
		w.startFollower(key, f)
	}
	report := w.drain(f, now)
	f.lastPoll = now
	return report
}

// Stats returns the counters so far.
func (w *WorkLog) Stats() WorkLogStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Close stops every follower and waits for them.
func (w *WorkLog) Close() error {
	w.cancel()
	w.wg.Wait()
	return nil
}

// followKey is per container instance: a recreated container is a new log.
func followKey(c state.Container) string {
	if c.RuntimeID != "" {
		return c.RuntimeID
	}
	return c.ID
}

// startFollower must be called with w.mu held.
func (w *WorkLog) startFollower(key string, f *followedLog) {
	if w.ctx.Err() != nil {
		return
	}
	f.running = true
	w.stats.Followers++
	c := f.container
	w.wg.Go(func() { w.follow(key, c) })
}

func (w *WorkLog) follow(key string, c state.Container) {
	lines := &lineWriter{
		max:      w.config.MaxLineBytes,
		line:     func(line []byte) { w.receive(key, line) },
		overlong: func() { w.malformed(c, "a line longer than the limit") },
	}
	err := w.config.Logs.Logs(w.ctx, c, true, lines)
	lines.flush()
	if err != nil && w.ctx.Err() == nil {
		w.logger.Warn("work reports: log stream ended", "container", c.ID, "err", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Followers--
	if f := w.followed[key]; f != nil {
		f.running = false
		f.endedAt = w.config.Clock()
	}
}

func (w *WorkLog) receive(key string, line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	report, err := parseWorkLine(line)
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.followed[key]
	if err != nil {
		w.stats.Malformed++
		if f != nil {
			w.logger.Debug("work reports: line skipped", "container", f.container.ID, "err", err)
		}
		return
	}
	if f == nil {
		return
	}
	w.stats.Reports++
	if len(f.reports) >= w.config.MaxReports {
		dropped := len(f.reports) - w.config.MaxReports + 1
		f.reports = append(f.reports[:0], f.reports[dropped:]...)
		w.stats.Dropped += uint64(dropped)
	}
	f.reports = append(f.reports, report)
}

func (w *WorkLog) malformed(c state.Container, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Malformed++
	w.logger.Debug("work reports: line skipped", "container", c.ID, "err", what)
}

// drain sums the reports read since the previous call. Reports dated on
// the workload's clock count when they are newer than any handed out
// before and no older than the interval since the previous call plus the
// slack, measured back from the newest: a follower reads a container's log
// from its start, and that history is not this interval's work.
//
// Dated reports also say which stretch of the workload's time they cover,
// and that stretch is rarely the interval asked about: a report delayed by
// a few milliseconds (the workload itself waited for a CPU) falls into the
// next interval, and an interval of five report periods then holds four or
// six reports. So arrived and served are rescaled from the stretch the
// reports cover to the interval, which keeps a rate of work (the policy's
// input) free of that jitter. The backlog is a level and is not rescaled.
func (w *WorkLog) drain(f *followedLog, now time.Time) *state.WorkReport {
	if len(f.reports) == 0 {
		return nil
	}
	interval := now.Sub(f.lastPoll).Seconds()
	counted := w.fresh(f, interval+w.config.Slack.Seconds())
	f.reports = f.reports[:0]
	if len(counted) == 0 {
		return nil
	}
	var sum state.WorkReport
	for _, r := range counted {
		sum.Arrived += r.Arrived
		sum.Served += r.Served
		sum.Backlog = r.Backlog
	}
	previousT, hadT := f.newestT, f.seenT
	newest := counted[len(counted)-1]
	if newest.HasT && (!f.seenT || newest.T > f.newestT) {
		f.newestT, f.seenT = newest.T, true
	}
	if span, ok := coveredSpan(counted, previousT, hadT); ok && interval > 0 {
		factor := min(max(interval/span, minRescale), maxRescale)
		sum.Arrived *= factor
		sum.Served *= factor
	}
	return &sum
}

// Bounds of the rescaling of a drain: beyond them the reports are too late
// or too early to say anything about the interval's rate, and are summed
// nearly as they are.
const (
	minRescale = 0.5
	maxRescale = 2.0
)

// fresh returns, in order, the buffered reports that count towards this
// drain, counting the stale ones.
func (w *WorkLog) fresh(f *followedLog, window float64) []workLine {
	newest := math.Inf(-1)
	for _, r := range f.reports {
		if r.HasT {
			newest = max(newest, r.T)
		}
	}
	var counted []workLine
	for _, r := range f.reports {
		if r.HasT && f.seenT && r.T <= f.newestT {
			continue
		}
		if r.HasT && r.T < newest-window {
			w.stats.Stale++
			continue
		}
		counted = append(counted, r)
	}
	return counted
}

// coveredSpan is the stretch of the workload's time the reports cover: from
// the newest report handed out before to the newest now, or for the first
// drain, from one report period before the oldest. It is known only when
// every report is dated and their times move forward.
func coveredSpan(reports []workLine, previousT float64, hadPrevious bool) (float64, bool) {
	for _, r := range reports {
		if !r.HasT {
			return 0, false
		}
	}
	oldest, newest := reports[0].T, reports[len(reports)-1].T
	var span float64
	switch {
	case hadPrevious:
		span = newest - previousT
	case len(reports) >= 2:
		span = (newest - oldest) * float64(len(reports)) / float64(len(reports)-1)
	}
	return span, span > 0
}

// sweep forgets containers whose stream ended long ago and that nobody
// asked about since: they are gone. Called with w.mu held.
func (w *WorkLog) sweep(now time.Time) {
	if now.Sub(w.lastSweep) < sweepEvery {
		return
	}
	w.lastSweep = now
	for key, f := range w.followed {
		if !f.running && now.Sub(f.lastPoll) > forgetAfter {
			delete(w.followed, key)
		}
	}
}

// parseWorkLine parses one report. arrived, served and backlog are
// required and must be non-negative; t is optional; other fields (demand)
// are ignored.
func parseWorkLine(line []byte) (workLine, error) {
	var raw struct {
		T       *float64 `json:"t"`
		Arrived *float64 `json:"arrived"`
		Served  *float64 `json:"served"`
		Backlog *float64 `json:"backlog"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return workLine{}, fmt.Errorf("not a JSON work report: %w", err)
	}
	fields := []struct {
		name  string
		value *float64
	}{{"arrived", raw.Arrived}, {"served", raw.Served}, {"backlog", raw.Backlog}}
	for _, f := range fields {
		if f.value == nil {
			return workLine{}, fmt.Errorf("work report without %q", f.name)
		}
		if *f.value < 0 {
			return workLine{}, fmt.Errorf("work report: %q is negative (%g)", f.name, *f.value)
		}
	}
	r := workLine{Arrived: *raw.Arrived, Served: *raw.Served, Backlog: *raw.Backlog}
	if raw.T != nil {
		r.T, r.HasT = *raw.T, true
	}
	return r, nil
}

// lineWriter splits a byte stream into lines without keeping more than max
// bytes of an unfinished one: a longer line is dropped whole and reported
// to overlong. The slice given to line is reused after it returns.
type lineWriter struct {
	max        int
	buf        []byte
	discarding bool
	line       func([]byte)
	overlong   func()
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.add(p)
			break
		}
		l.add(p[:i])
		l.end()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineWriter) add(chunk []byte) {
	if l.discarding {
		return
	}
	if len(l.buf)+len(chunk) > l.max {
		l.discarding = true
		l.buf = l.buf[:0]
		return
	}
	l.buf = append(l.buf, chunk...)
}

func (l *lineWriter) end() {
	if l.discarding {
		l.overlong()
	} else {
		l.line(l.buf)
	}
	l.discarding = false
	l.buf = l.buf[:0]
}

// flush ends a last line the stream did not terminate.
func (l *lineWriter) flush() {
	if l.discarding || len(l.buf) > 0 {
		l.end()
	}
}
