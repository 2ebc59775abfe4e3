package policies

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// policyWithQuota is a policy that caps the hog at a fixed quota, so a test
// can tell which bundle made a decision.
func policyWithQuota(quota string) string {
	return "package sluice.shield\n\ndecision := {\"containers\": {\"batch/hog\": {\"cpu_quota_millicores\": " + quota + "}}}\n"
}

func hogQuota(t *testing.T, e *Engine) float64 {
	t.Helper()
	d, err := e.Decide(context.Background(), contendedView(), testNode)
	if err != nil {
		t.Fatal(err)
	}
	return *d.Containers["batch/hog"].CPUQuotaCores
}

func newTestReloader(t *testing.T, files map[string]string) (*Reloader, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	r, err := NewReloader(context.Background(), dir, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

// bump rewrites a file with a later mtime, as a save some time later would;
// tests must not depend on the file system's mtime granularity.
func bump(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	var later time.Time
	if err == nil {
		later = info.ModTime().Add(time.Second)
	} else {
		later = time.Now()
	}
	writeFiles(t, dir, map[string]string{name: content})
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func TestReloadPicksUpAChangedFile(t *testing.T) {
	r, dir := newTestReloader(t, map[string]string{"p.rego": policyWithQuota("300")})
	before := r.Engine().Digest()
	bump(t, dir, "p.rego", policyWithQuota("400"))
	if err := r.CheckDir(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, r.Engine()); got != 0.4 {
		t.Errorf("quota %v after the reload, want 0.4", got)
	}
	if r.Engine().Digest() == before {
		t.Error("the digest did not change with the content")
	}
}

func TestReloadKeepsTheLastGoodBundle(t *testing.T) {
	r, dir := newTestReloader(t, map[string]string{"p.rego": policyWithQuota("300")})
	good := r.Engine()

	bump(t, dir, "p.rego", "package sluice.shield\n\ndecision := {\n")
	err := r.CheckDir(context.Background())
	var perr *Error
	if !errors.As(err, &perr) || perr.Stage != StageCompile || !strings.Contains(err.Error(), "p.rego:") {
		t.Fatalf("want a compile-stage *Error naming p.rego, got %v", err)
	}
	if r.Engine() != good {
		t.Fatal("a broken bundle replaced the good engine")
	}
	if got := hogQuota(t, r.Engine()); got != 0.3 {
		t.Errorf("quota %v from the kept engine, want 0.3", got)
	}
	if r.LastError() == nil || r.LastError().BundleDigest == good.Digest() {
		t.Errorf("last error %v should name the broken bundle's digest", r.LastError())
	}
	record := r.LastError().PolicyError(testNode, 7, testTime)
	if record.Stage != "compile" || !strings.Contains(record.Error, "p.rego") {
		t.Errorf("policy error record %+v", record)
	}

	// A compile error (not a parse error) is kept out the same way.
	bump(t, dir, "p.rego", "package sluice.shield\n\ndecision := {\"x\": http.send({})}\n")
	if err := r.CheckDir(context.Background()); err == nil || !strings.Contains(err.Error(), "http.send") {
		t.Fatalf("want an error naming http.send, got %v", err)
	}
	if r.Engine() != good {
		t.Fatal("a bundle calling http.send replaced the good engine")
	}

	bump(t, dir, "p.rego", policyWithQuota("500"))
	if err := r.CheckDir(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, r.Engine()); got != 0.5 || r.LastError() != nil {
		t.Errorf("after the fix: quota %v, last error %v; want 0.5 and none", got, r.LastError())
	}
}

func TestReloadIgnoresATouchWithoutChange(t *testing.T) {
	r, dir := newTestReloader(t, map[string]string{"p.rego": policyWithQuota("300")})
	engine := r.Engine()
	bump(t, dir, "p.rego", policyWithQuota("300"))
	if err := r.CheckDir(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.Engine() != engine {
		t.Error("an unchanged bundle was recompiled")
	}
}

func TestStorePoliciesOverrideTheDir(t *testing.T) {
	r, dir := newTestReloader(t, map[string]string{"p.rego": policyWithQuota("300")})
	ctx := context.Background()
	view := state.NewView(testNode)
	view.Policies["p.rego"] = []byte(policyWithQuota("600"))

	engine, err := r.SyncView(ctx, &view)
	if err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, engine); got != 0.6 || r.Source() != SourceStore {
		t.Fatalf("quota %v from %s, want 0.6 from the store", got, r.Source())
	}

	// While the store rules, the dir's changes wait.
	bump(t, dir, "p.rego", policyWithQuota("400"))
	if err := r.CheckDir(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, r.Engine()); got != 0.6 {
		t.Fatalf("quota %v, want the store's 0.6", got)
	}

	// A broken store bundle keeps the last good engine and is reported on
	// every sync until it changes, without being recompiled.
	view.Policies["p.rego"] = []byte("package sluice.shield\n\ndecision := \n")
	for range 2 {
		if _, err := r.SyncView(ctx, &view); err == nil || !strings.Contains(err.Error(), state.PoliciesPrefix) {
			t.Fatalf("want an error naming %s, got %v", state.PoliciesPrefix, err)
		}
		if got := hogQuota(t, r.Engine()); got != 0.6 {
			t.Fatalf("quota %v, want the last good 0.6", got)
		}
	}

	// Deleting the override brings the dir back, as it is now.
	clear(view.Policies)
	engine, err = r.SyncView(ctx, &view)
	if err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, engine); got != 0.4 || r.Source() != SourceDir {
		t.Fatalf("quota %v from %s, want 0.4 from the dir", got, r.Source())
	}
}

func TestDefaultReloaderUsesTheShippedPolicy(t *testing.T) {
	r, err := NewReloader(context.Background(), "", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Default()
	if r.Engine().Digest() != b.Digest {
		t.Errorf("digest %s, want the shipped bundle's %s", r.Engine().Digest(), b.Digest)
	}
	if err := r.CheckDir(context.Background()); err != nil {
		t.Errorf("checking no dir: %v", err)
	}
}

func TestNewReloaderFailsWithoutAGoodBundle(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.rego": "package sluice.shield\n\ndecision := {\n"})
	if _, err := NewReloader(context.Background(), dir, discardLogger()); err == nil {
		t.Fatal("a reloader started on a broken bundle")
	}
}

func TestRunReloadsAndStopsWithContext(t *testing.T) {
	r, dir := newTestReloader(t, map[string]string{"p.rego": policyWithQuota("300")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, 5*time.Millisecond)
	}()
	bump(t, dir, "p.rego", policyWithQuota("700"))
	deadline := time.After(5 * time.Second)
	for r.Engine().Digest() == Digest(map[string][]byte{"p.rego": []byte(policyWithQuota("300"))}) {
		select {
		case <-deadline:
			t.Fatal("Run did not reload the changed file")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// A fixed reloader holds its bundle whatever the directories hold, and the
// store's policies still override it.
func TestFixedReloaderHoldsItsBundle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"p.rego": policyWithQuota("300")})
	b, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewFixedReloader(ctx, b, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	bump(t, dir, "p.rego", policyWithQuota("400"))
	if err := r.CheckDir(ctx); err != nil {
		t.Fatal(err)
	}
	if got := hogQuota(t, r.Engine()); got != 0.3 || r.Source() != SourceDir {
		t.Fatalf("quota %v from %s, want the fixed bundle's 0.3", got, r.Source())
	}
	view := state.NewView(testNode)
	view.Policies["p.rego"] = []byte(policyWithQuota("600"))
	if engine, err := r.SyncView(ctx, &view); err != nil || hogQuota(t, engine) != 0.6 {
		t.Fatalf("with a store override: %v, want the store's 0.6", err)
	}
	clear(view.Policies)
	if engine, err := r.SyncView(ctx, &view); err != nil || hogQuota(t, engine) != 0.3 {
		t.Fatalf("once the override is gone: %v, want the fixed bundle's 0.3 again", err)
	}
}
