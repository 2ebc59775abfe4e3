package state_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// The embedded server is sluice's default store, so what it holds must
// survive a restart of the agent.
func TestEmbeddedKeepsDataAcrossRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	start := func() *state.Embedded {
		server, err := state.StartEmbedded(state.EmbeddedConfig{
			DataDir: dir, ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		})
		if err != nil {
			t.Fatal(err)
		}
		return server
	}
	ctx := context.Background()
	server := start()
	if eps := server.Endpoints(); len(eps) != 1 || !strings.HasPrefix(eps[0], "http://127.0.0.1:") || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("Endpoints() = %v, want one loopback URL with a real port", eps)
	}
	rev := withStore(t, server, func(s state.Store) int64 {
		rev, err := s.Txn(ctx, state.Put(state.Keys.App("", "web"), []byte(`{"name":"web"}`)))
		must(t, err)
		return rev
	})
	server.Close()

	server = start()
	defer server.Close()
	withStore(t, server, func(s state.Store) int64 {
		kv, found, current, err := s.Get(ctx, state.Keys.App("", "web"))
		must(t, err)
		if !found || kv.ModRevision != rev || current != rev {
			t.Fatalf("after restart: found %v mod %d at %d, want the key at revision %d", found, kv.ModRevision, current, rev)
		}
		return 0
	})
}

func withStore(t *testing.T, server *state.Embedded, use func(state.Store) int64) int64 {
	t.Helper()
	cli, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := state.NewEtcdStore(cli)
	defer store.Close()
	return use(store)
}

func TestEmbeddedRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]state.EmbeddedConfig{
		"no data dir":   {ClientURL: "http://127.0.0.1:0"},
		"no port":       {DataDir: t.TempDir(), ClientURL: "http://127.0.0.1"},
		"not http":      {DataDir: t.TempDir(), PeerURL: "unix:///tmp/x"},
		"malformed URL": {DataDir: t.TempDir(), ClientURL: "http://[::1"},
	} {
		t.Run(name, func(t *testing.T) {
			server, err := state.StartEmbedded(cfg)
			if err == nil {
				server.Close()
				t.Fatal("started with a bad config")
			}
			if !strings.Contains(err.Error(), "embedded etcd") {
				t.Fatalf("error %q does not say which component failed", err)
			}
		})
	}
}

// etcd logs every step at info level; sluice keeps only its warnings.
func TestEmbeddedLogsOnlyWarnings(t *testing.T) {
	var logs bytes.Buffer
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir:   filepath.Join(t.TempDir(), "etcd"),
		ClientURL: "http://127.0.0.1:0",
		PeerURL:   "http://127.0.0.1:0",
		Logger:    slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	server.Close()
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if line != "" && !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") {
			t.Fatalf("etcd logged below warning level: %s", line)
		}
	}
	if !strings.Contains(logs.String(), "component=etcd") {
		t.Fatalf("no etcd warning reached the logger (etcd always warns about its simple token):\n%s", logs.String())
	}
}

// TestEmbeddedCompactsOldHistory runs the server with a short retention: the
// history of a key rewritten all along is compacted, so a watch from the
// first revision fails with ErrCompacted while the latest value stays.
func TestEmbeddedCompactsOldHistory(t *testing.T) {
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: filepath.Join(t.TempDir(), "etcd"), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		HistoryRetention: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	withStore(t, server, func(s state.Store) int64 {
		ctx := context.Background()
		deadline := time.Now().Add(20 * time.Second)
		for tick := 0; ; tick++ {
			_, err := s.Txn(ctx, state.Put(state.Keys.Observation("n1"), []byte(fmt.Sprintf(`{"node":"n1","tick":%d}`, tick))))
			must(t, err)
			if compactedFrom(t, s, 1) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("history from revision 1 still there after %d writes over 20 s with a 1 s retention", tick+1)
			}
			time.Sleep(100 * time.Millisecond)
		}
		kv, found, _, err := s.Get(ctx, state.Keys.Observation("n1"))
		must(t, err)
		if !found || !strings.Contains(string(kv.Value), "tick") {
			t.Fatalf("the latest observation went with the history: found %v, %s", found, kv.Value)
		}
		return 0
	})
}

// compactedFrom reports whether a watch from rev fails with ErrCompacted.
func compactedFrom(t *testing.T, s state.Store, rev int64) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for resp := range s.Watch(ctx, state.Root, rev) {
		return errors.Is(resp.Err, state.ErrCompacted)
	}
	return false
}
