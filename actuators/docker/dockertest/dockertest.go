// Package dockertest gives integration tests a Docker runtime of their own
// and the workload images built from the current source. Tests that use it
// skip without a Docker engine, except under CI=true, where they fail.
package dockertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/internal/testenv"
)

// Runtime is a Runtime for a node name unique to the test, so tests running
// at the same time on one engine never see each other's containers. Every
// container on that node is removed when the test ends.
func Runtime(t testing.TB) *docker.Runtime {
	t.Helper()
	return RuntimeWith(t, docker.Config{Node: NodeName(t)})
}

// RuntimeWith is Runtime for a config of the test's own: two runtimes of
// one node that stand for agents of different stores, say. Every container
// on cfg.Node that the runtime lists is removed when the test ends.
func RuntimeWith(t testing.TB, cfg docker.Config) *docker.Runtime {
	t.Helper()
	testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rt, err := docker.New(ctx, cfg, Logger(t))
	if err != nil {
		t.Fatalf("docker runtime: %v", err)
	}
	t.Cleanup(func() {
		RemoveAll(t, rt)
		rt.Close()
	})
	return rt
}

// NodeName is a node name unique to this run of the test.
func NodeName(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '-'
	}, strings.ToLower(t.Name()))
	return "test-" + strings.Trim(name, "-") + "-" + hex.EncodeToString(b[:])
}

// Logger writes through t.Log, so a failing test shows what the runtime did.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// RemoveAll removes every container of rt's node, for a test's cleanup.
// It runs after the test's context is gone, so it brings its own.
func RemoveAll(t testing.TB, rt *docker.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left, err := rt.List(ctx)
	if err != nil {
		t.Errorf("clean up: %v", err)
		return
	}
	for _, c := range left {
		if err := rt.Remove(ctx, c); err != nil {
			t.Errorf("clean up: %v", err)
		}
	}
}

var (
	buildMu sync.Mutex
	built   = map[string]*buildResult{}
)

type buildResult struct {
	once sync.Once
	tag  string
	err  error
}

// Image builds the workload's image from the current source, once per test
// binary, and returns its tag.
func Image(t testing.TB, rt *docker.Runtime, name string) string {
	t.Helper()
	buildMu.Lock()
	b, ok := built[name]
	if !ok {
		b = &buildResult{}
		built[name] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			b.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.tag, b.err = rt.BuildWorkloadImage(ctx, root, name)
	})
	if b.err != nil {
		t.Fatalf("workload image %s: %v", name, b.err)
	}
	return b.tag
}

// ModuleRoot is the directory holding go.mod, found upwards from the
// working directory (a test runs in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
