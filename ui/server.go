package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Views is the agent's view of the store: its state.Follower.
type Views interface {
	View() *state.View
	Subscribe() *state.Subscription
}

// TraceSource lists an app's recent traces (traces.Intake).
type TraceSource interface {
	Recent(app string, limit int) []traces.TraceSummary
}

// LogSource reads containers' logs (the Docker runtime).
type LogSource interface {
	AppContainers(ctx context.Context, app, only string) ([]state.Container, error)
	// TailLogs copies the last lines of the log to w, and with follow the
	// lines that come after until ctx ends.
	TailLogs(ctx context.Context, c state.Container, lines int, follow bool, w io.Writer) error
}

// Config is what the pages read. Zero values take the defaults in brackets.
type Config struct {
	// Node is the agent's node. Required.
	Node string
	// Views is the agent's follower. Required.
	Views Views
	// Store is read for an app's lifecycle (its status key's history).
	Store state.Store
	// Traces and Logs are nil on a node that has none (a simulated one).
	Traces TraceSource
	Logs   LogSource
	// ExperimentsDir holds experiments' output directories; empty: no
	// experiments page.
	ExperimentsDir string
	// Interval is the agent's tick, which a node's heartbeat age is
	// measured against [1 s].
	Interval time.Duration
	// StoreTimeout bounds each read of the store [2 s].
	StoreTimeout time.Duration
	// HistoryPoints is how many samples a chart keeps per app [300].
	HistoryPoints int
}

// Server serves the pages. Run keeps its history and tells the browsers
// that the view changed.
type Server struct {
	cfg     Config
	history *history
	pages   *pages
	mux     *http.ServeMux

	mu sync.Mutex
	// changed is closed and replaced when the view changes, while a
	// browser listens (listeners > 0).
	changed   chan struct{}
	listeners int
	// stopped is closed when Run returns, which ends the event streams.
	stopped chan struct{}
}

// New builds the pages of cfg.Node.
func New(cfg Config) (*Server, error) {
	if cfg.Node == "" || cfg.Views == nil {
		return nil, errors.New("ui: Config.Node and Config.Views are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.StoreTimeout <= 0 {
		cfg.StoreTimeout = 2 * time.Second
	}
	if cfg.HistoryPoints <= 0 {
		cfg.HistoryPoints = 300
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, history: newHistory(cfg.Node, cfg.HistoryPoints), pages: p,
		changed: make(chan struct{}), stopped: make(chan struct{})}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.cluster)
	s.mux.HandleFunc("GET /apps/{app}", s.app)
	s.mux.HandleFunc("GET /apps/{app}/traces", s.traces)
	s.mux.HandleFunc("GET /apps/{app}/logs/{container}", s.logs)
	s.mux.HandleFunc("GET /apps/{app}/logs/{container}/stream", s.logStream)
	s.mux.HandleFunc("GET /events", s.events)
	s.mux.Handle("GET /static/", http.FileServerFS(staticFiles))
	if s.cfg.ExperimentsDir != "" {
		s.mux.Handle("/experiments/", newExperiments(s.cfg.ExperimentsDir, s.pages, "/experiments/"))
	}
}

// ServeHTTP serves the pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Run records the view's history and wakes the browsers' event streams
// on every change, until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	defer close(s.stopped)
	views := s.cfg.Views.Subscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-views.C():
		}
		view, _ := views.Next()
		if view == nil {
			continue
		}
		s.history.record(view, time.Now())
		s.broadcast()
	}
}

func (s *Server) broadcast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listeners > 0 {
		close(s.changed)
		s.changed = make(chan struct{})
	}
}

// listen registers a browser's event stream; the returned func ends it.
func (s *Server) listen() (wait func() <-chan struct{}, done func()) {
	s.mu.Lock()
	s.listeners++
	s.mu.Unlock()
	wait = func() <-chan struct{} {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.changed
	}
	return wait, func() {
		s.mu.Lock()
		s.listeners--
		s.mu.Unlock()
	}
}

// eventGap spaces a browser's refreshes: a burst of changes costs one.
const eventGap = 100 * time.Millisecond

// events streams a message per change of the view (server-sent events);
// a page fetches its content again on each.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	wait, done := s.listen()
	defer done()
	fmt.Fprint(w, ": listening\n\n")
	flusher.Flush()
	changed := wait()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopped:
			return
		case <-changed:
		}
		// A change from here on, while this one is sent, wakes the next round.
		changed = wait()
		revision := int64(0)
		if view := s.cfg.Views.View(); view != nil {
			revision = view.Revision
		}
		if _, err := fmt.Fprintf(w, "data: %d\n\n", revision); err != nil {
			return
		}
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(eventGap):
		}
	}
}

// view is the agent's latest view, or an empty one before the first.
func (s *Server) view() *state.View {
	if v := s.cfg.Views.View(); v != nil {
		return v
	}
	empty := state.NewView(s.cfg.Node)
	return &empty
}
