package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// progressRetry is how long WaitFor waits for the watches' progress before
// it asks again.
const progressRetry = 50 * time.Millisecond

// Changes is the set of kinds of keys that changed between two views.
type Changes uint16

// changeBits gives each kind its bit in a Changes.
var changeBits = map[Kind]Changes{
	KindNode: 1 << 0, KindApp: 1 << 1, KindObservation: 1 << 2, KindDecision: 1 << 3,
	KindStatus: 1 << 4, KindPolicyError: 1 << 5, KindPolicy: 1 << 6, KindCluster: 1 << 7, KindClaim: 1 << 8,
}

// AllChanges says everything may have changed: a fresh listing.
const AllChanges Changes = 1<<9 - 1

// Has reports whether keys of kind changed.
func (c Changes) Has(kind Kind) bool { return c&changeBits[kind] != 0 }

// FollowerConfig tunes a Follower; zero values take the defaults in brackets.
type FollowerConfig struct {
	// Retry paces the listings after a failure [100 ms doubling to 5 s].
	// A watch that fell behind compaction lists again at once.
	Retry Backoff
	// ListTimeout bounds one listing [10 s].
	ListTimeout time.Duration
	Logger      *slog.Logger
}

// Follower keeps one node's view of the store current: it lists the node's
// keys and the cluster keys once (LoadView), watches them from the next
// revision, folds each change into the view, and lists again when a watch
// breaks (after a backoff) or falls behind compaction (at once). Readers
// take the latest view with View, or Subscribe to be told when it changes.
// Every view it hands out is immutable; while the store is away the last
// one stays (fail static).
type Follower struct {
	store Store
	node  string
	cfg   FollowerConfig

	mu     sync.Mutex
	view   *View
	subs   []*Subscription
	relist int
	// exact says view is the fold of the log up to its revision.
	exact bool
	// changed is closed and replaced on every new view, for WaitFor.
	changed chan struct{}
}

// NewFollower returns a follower of node's view; Run starts it.
func NewFollower(store Store, node string, cfg FollowerConfig) *Follower {
	cfg.Retry = cfg.Retry.WithDefaults(Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second})
	if cfg.ListTimeout <= 0 {
		cfg.ListTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "follower", "node", node)
	return &Follower{store: store, node: node, cfg: cfg, changed: make(chan struct{})}
}

// View is the latest view; nil until the first listing.
func (f *Follower) View() *View {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view
}

// Listings counts the listings so far: one, plus one per broken watch.
func (f *Follower) Listings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.relist
}

// Subscription tells one reader that the view changed and which kinds of
// keys did. Changes accumulate until the reader calls Next, so a slow
// reader misses no kind of change, only intermediate views.
type Subscription struct {
	f       *Follower
	c       chan struct{}
	mu      sync.Mutex
	pending Changes
}

// Subscribe registers a reader. If a view exists already, the subscription
// starts with every kind pending.
func (f *Follower) Subscribe() *Subscription {
	s := &Subscription{f: f, c: make(chan struct{}, 1)}
	f.mu.Lock()
	f.subs = append(f.subs, s)
	if f.view != nil {
		s.notify(AllChanges)
	}
	f.mu.Unlock()
	return s
}

// C receives a value when changes are pending.
func (s *Subscription) C() <-chan struct{} { return s.c }

// Next returns the latest view and the kinds that changed since the last
// call.
func (s *Subscription) Next() (*View, Changes) {
	s.mu.Lock()
	changes := s.pending
	s.pending = 0
	s.mu.Unlock()
	return s.f.View(), changes
}

func (s *Subscription) notify(changes Changes) {
	s.mu.Lock()
	s.pending |= changes
	s.mu.Unlock()
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// publish makes view the latest one and tells the subscribers; exact says
// it is the fold of the log up to its revision.
func (f *Follower) publish(view *View, changes Changes, exact bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.view = view
	f.exact = exact
	// A progress report changes no key: it concerns WaitFor alone, and
	// waking the subscribers for it would cost each a look at nothing.
	for _, s := range f.subs {
		if changes != 0 {
			s.notify(changes)
		}
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// WaitFor returns the first exact view at revision rev or later: the fold
// of the log up to its revision, cluster keys included. A writer that
// wants to act on its own write (the policy step on the observation it
// just recorded) waits for the follower to fold it. While the node's
// watch is past rev but another watch has not said how far it is, WaitFor
// asks the store for the watches' progress.
func (f *Follower) WaitFor(ctx context.Context, rev int64) (*View, error) {
	for {
		f.mu.Lock()
		view, exact, changed := f.view, f.exact, f.changed
		f.mu.Unlock()
		if view != nil && exact && view.Revision >= rev {
			return view, nil
		}
		var retry <-chan time.Time
		if view != nil && !exact {
			if err := f.store.RequestProgress(ctx); err != nil {
				return nil, fmt.Errorf("wait for the view of node %s to reach revision %d: %w", f.node, rev, err)
			}
			// etcd answers only once its watches are in sync: ask again.
			retry = time.After(progressRetry)
		}
		select {
		case <-changed:
		case <-retry:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the view of node %s to reach revision %d: %w", f.node, rev, ctx.Err())
		}
	}
}

// Run follows the store until ctx ends, and returns nil then.
func (f *Follower) Run(ctx context.Context) error {
	failures := 0
	for ctx.Err() == nil {
		view, err := f.load(ctx)
		if err == nil {
			failures = 0
			err = f.watch(ctx, view)
		}
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrCompacted) {
			f.cfg.Logger.Info("the watch fell behind compaction; listing again", "err", err)
			continue
		}
		delay := f.cfg.Retry.Delay(failures)
		failures++
		f.cfg.Logger.Warn("the store is unreachable; keeping the last view", "err", err, "retry", delay, "failures", failures)
		sleepCtx(ctx, delay)
	}
	return nil
}

func (f *Follower) load(ctx context.Context) (*View, error) {
	listCtx, cancel := context.WithTimeout(ctx, f.cfg.ListTimeout)
	defer cancel()
	view, err := LoadView(listCtx, f.store, f.node)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.relist++
	f.mu.Unlock()
	f.publish(view.Share(), AllChanges, true)
	return &view, nil
}

// watch follows every prefix of the view from the revision after the
// listing, folding each response as it comes, until a watch fails.
//
// Each prefix has its own watch, and etcd orders events within a watch,
// not across them: a Txn that writes the node's keys and a cluster key can
// reach the view half folded. The follower therefore tracks how far each
// watch is complete (its last response's revision, progress reports
// included), and calls the view exact when every watch is complete up to
// the newest event folded: the view is then the fold of the log up to
// that revision, which is what a decision must be made on (WaitFor).
func (f *Follower) watch(ctx context.Context, view *View) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prefixes := FollowedPrefixes(f.node)
	responses := make(chan indexedResponse)
	progress := make([]int64, len(prefixes))
	for i, prefix := range prefixes {
		progress[i] = view.Revision
		go forward(ctx, i, f.store.Watch(ctx, prefix, view.Revision+1), responses)
	}
	folded := view.Revision
	for {
		var resp indexedResponse
		select {
		case <-ctx.Done():
			return ctx.Err()
		case resp = <-responses:
		}
		if resp.Err != nil {
			return resp.Err
		}
		var changes Changes
		for _, ev := range resp.Events {
			view.Apply(ev)
			changes |= changeBits[ParseKey(ev.Key).Kind]
			folded = max(folded, ev.Revision)
			progress[resp.index] = max(progress[resp.index], ev.Revision)
		}
		progress[resp.index] = max(progress[resp.index], resp.Revision)
		complete := slices.Min(progress)
		exact := complete >= folded
		if exact {
			view.Revision = complete
		}
		f.publish(view.Share(), changes, exact)
	}
}

// indexedResponse is a watch's response with the index of its prefix.
type indexedResponse struct {
	WatchResponse
	index int
}

// forward hands one watch's responses to the follower's loop until the
// watch ends; a watch that ends without an error while ctx lives is one.
func forward(ctx context.Context, index int, watch <-chan WatchResponse, out chan<- indexedResponse) {
	for resp := range watch {
		select {
		case out <- indexedResponse{resp, index}:
		case <-ctx.Done():
			return
		}
	}
	if ctx.Err() == nil {
		select {
		case out <- indexedResponse{WatchResponse{Err: fmt.Errorf("the watch ended")}, index}:
		case <-ctx.Done():
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
