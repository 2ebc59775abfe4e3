package policies

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Where a Reloader's current bundle came from.
const (
	SourceDir   = "dir"
	SourceStore = "store"
)

// Reloader holds the current Engine and replaces it when the bundle
// changes: when the files of its policy directory change, or when the
// store's /sluice/policies/ keys (View.Policies) change. Non-empty
// View.Policies override the directory; when they are deleted the
// directory's bundle is back in force.
//
// A bundle that fails to load or compile never replaces a good engine: the
// last good one stays in force and the failure is kept (LastError) until a
// later bundle compiles, so the caller can record it as a state.PolicyError.
// A failed bundle is not recompiled until its content changes. A bundle
// whose evaluation passes its bounds is taken out again (Reject).
type Reloader struct {
	dir string
	// fixed, when set, stands in for the directory.
	fixed  *Bundle
	logger *slog.Logger

	current atomic.Pointer[loaded]

	// mu serialises reloads; readers of the current engine never wait on it.
	mu          sync.Mutex
	source      string
	dirStamp    string // names, sizes and mtimes of the dir's bundle files
	dirDigest   string // digest of the dir bundle last tried
	storeDigest string // digest and manifest of the store bundle last tried
	lastErr     *Error
}

type loaded struct {
	engine *Engine
	source string
	// previous is the engine this one replaced, to come back to if this
	// one's evaluations pass their bounds (Reject); nil for the first.
	previous *loaded
}

// NewReloader loads and compiles the bundle in dir; an empty dir means the
// bundle that ships with sluice (Default). It fails when that first bundle
// does not compile, since there is no last good engine to fall back on.
func NewReloader(ctx context.Context, dir string, logger *slog.Logger) (*Reloader, error) {
	return newReloader(ctx, &Reloader{dir: dir, logger: logger.With("component", "policies"), source: SourceDir})
}

// NewFixedReloader holds bundle b in place of a directory, for a run that
// must not pick up edits (an experiment); files under /sluice/policies/
// still override it.
func NewFixedReloader(ctx context.Context, b *Bundle, logger *slog.Logger) (*Reloader, error) {
	return newReloader(ctx, &Reloader{fixed: b, logger: logger.With("component", "policies"), source: SourceDir})
}

func newReloader(ctx context.Context, r *Reloader) (*Reloader, error) {
	b, stamp, err := r.loadDir()
	if err != nil {
		return nil, err
	}
	engine, err := NewEngine(ctx, b)
	if err != nil {
		return nil, err
	}
	r.dirStamp, r.dirDigest = stamp, b.Digest
	r.current.Store(&loaded{engine: engine, source: SourceDir})
	return r, nil
}

// Engine returns the engine in force. It never blocks on a reload.
func (r *Reloader) Engine() *Engine { return r.current.Load().engine }

// Source says where the engine in force came from: SourceDir or SourceStore.
func (r *Reloader) Source() string { return r.current.Load().source }

// LastError is the failure of the newest bundle tried, or nil when the
// engine in force is the newest bundle.
func (r *Reloader) LastError() *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// SyncView makes the engine follow the store's policy keys in view. It
// returns the engine in force and, when the wanted bundle failed to
// compile, its *Error (also on later calls, until the bundle changes).
func (r *Reloader) SyncView(ctx context.Context, view *state.View) (*Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case len(view.Policies) > 0:
		r.syncStore(ctx, view.Policies)
	case r.source == SourceStore:
		// The override is gone: the directory is in force again, re-read
		// since it may have changed while the store held sway.
		r.source, r.storeDigest, r.dirStamp, r.dirDigest = SourceDir, "", "", ""
		r.lastErr = nil
		r.reloadDir(ctx, true)
	}
	return r.Engine(), r.errOrNil()
}

func (r *Reloader) syncStore(ctx context.Context, files map[string][]byte) {
	digest := Digest(files)
	// The manifest is left out of the digest, but a new revision of the
	// same policy is a new bundle in force: decisions record it.
	stamp := digest + " " + string(files[ManifestFile])
	if r.source == SourceStore && stamp == r.storeDigest {
		return
	}
	r.source, r.storeDigest = SourceStore, stamp
	b, err := LoadFiles(files)
	if err != nil {
		r.failed(&Error{Stage: StageCompile, BundleDigest: digest, Err: fmt.Errorf("bundle under %s: %w", state.PoliciesPrefix, err)})
		return
	}
	r.activate(ctx, b, SourceStore)
}

// CheckDir polls the policy directory once and reloads it when its bundle
// changed. A touched file whose content did not change costs a digest,
// not a compile. While the store overrides the directory, CheckDir does
// nothing. It returns the failure of a changed bundle, if any.
func (r *Reloader) CheckDir(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.source != SourceDir || r.dir == "" || r.fixed != nil {
		return nil
	}
	return r.reloadDir(ctx, false)
}

func (r *Reloader) reloadDir(ctx context.Context, force bool) error {
	if !force {
		stamp, err := dirStamp(r.dir)
		if err == nil && stamp == r.dirStamp {
			return nil
		}
	}
	b, stamp, err := r.loadDir()
	r.dirStamp = stamp
	if err != nil {
		var perr *Error
		if !errors.As(err, &perr) {
			perr = &Error{Stage: StageCompile, Err: err}
		}
		r.failed(perr)
		return perr
	}
	switch {
	case force:
	case b.Digest == r.Engine().Digest():
		r.lastErr = nil // changed back to the bundle in force
		return nil
	case b.Digest == r.dirDigest:
		return r.errOrNil() // touched, but the same bundle that failed
	}
	r.dirDigest = b.Digest
	return r.activate(ctx, b, SourceDir)
}

// loadDir reads the dir's bundle (the default one for an empty dir)
// together with the stamp it was read at.
func (r *Reloader) loadDir() (*Bundle, string, error) {
	switch {
	case r.fixed != nil:
		return r.fixed, "", nil
	case r.dir == "":
		b, err := Default()
		return b, "", err
	}
	stamp, err := dirStamp(r.dir)
	if err != nil {
		return nil, "", &Error{Stage: StageCompile, Err: err}
	}
	files, err := readBundleFiles(r.dir)
	if err != nil {
		return nil, stamp, &Error{Stage: StageCompile, Err: fmt.Errorf("policy dir %s: %w", r.dir, err)}
	}
	b, err := LoadFiles(files)
	if err != nil {
		return nil, stamp, &Error{Stage: StageCompile, BundleDigest: Digest(files), Err: fmt.Errorf("policy dir %s: %w", r.dir, err)}
	}
	return b, stamp, nil
}

func (r *Reloader) activate(ctx context.Context, b *Bundle, source string) error {
	engine, err := NewEngine(ctx, b)
	if err != nil {
		var perr *Error
		if !errors.As(err, &perr) {
			perr = &Error{Stage: StageCompile, BundleDigest: b.Digest, Err: err}
		}
		r.failed(perr)
		return perr
	}
	in := r.current.Load()
	previous := &loaded{engine: in.engine, source: in.source}
	r.current.Store(&loaded{engine: engine, source: source, previous: previous})
	r.lastErr = nil
	r.logger.Info("policy bundle loaded", "source", source, "digest", b.Digest, "revision", b.Revision, "previous", previous.engine.Digest())
	return nil
}

// Reject takes engine out of force when its evaluation passed a bound
// (Bounded) before it ever decided: the bundle is rejected as one that
// fails to compile is, the engine it replaced is back in force, and err is
// kept (LastError) until the wanted bundle changes. It reports whether
// engine was taken out. The first engine, with none to come back to, stays,
// and so does one that has decided before: one slow evaluation of a proven
// bundle fails that decision only.
func (r *Reloader) Reject(engine *Engine, err *Error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := r.current.Load()
	if in.engine != engine || in.previous == nil || engine.decided.Load() {
		return false
	}
	r.current.Store(in.previous)
	r.failed(err)
	return true
}

func (r *Reloader) failed(err *Error) {
	r.lastErr = err
	r.logger.Error("policy bundle rejected; the last good one stays in force",
		"digest", err.BundleDigest, "in_force", r.Engine().Digest(), "err", err.Err)
}

func (r *Reloader) errOrNil() error {
	if r.lastErr == nil {
		return nil
	}
	return r.lastErr
}

// Run polls the policy directory every interval until ctx ends. The caller
// owns the goroutine it runs on; Run returns when ctx is done. Polling
// (rather than inotify) sees files swapped in by rename or symlink, as
// editors and ConfigMap volumes do, and needs no extra dependency.
func (r *Reloader) Run(ctx context.Context, interval time.Duration) {
	state.Every(ctx, interval, func() {
		_ = r.CheckDir(ctx) // failures are kept in LastError and logged
	})
}

// dirStamp summarises the bundle files of dir by name, size and mtime, so
// that an unchanged directory costs a few stats per poll.
func dirStamp(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read policy dir: %w", err)
	}
	var b strings.Builder
	for _, entry := range entries {
		if !isBundleFile(entry) {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, entry.Name()))
		if err != nil {
			return "", fmt.Errorf("stat policy file: %w", err)
		}
		fmt.Fprintf(&b, "%s %d %d\n", entry.Name(), info.Size(), info.ModTime().UnixNano())
	}
	return b.String(), nil
}
