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

	"github.com/sluice-io/sluice/internal/testenv"
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

// TestEmbeddedCompactsAndDefragments runs the server with a five-second
// history and rewrites a key with large values as fast as it can, within
// those five seconds. etcd compacts the history, so a watch from the first
// revision fails with ErrCompacted while the latest value stays, and the
// server then defragments its database, whose file shrinks to what the
// latest value needs.
func TestEmbeddedCompactsAndDefragments(t *testing.T) {
	var logs testenv.Buffer
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: filepath.Join(t.TempDir(), "etcd"), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		History: state.Retention{Age: 5 * time.Second},
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	const writes, valueSize = 640, 48 << 10 // 30 MiB of history
	withStore(t, server, func(s state.Store) int64 {
		ctx := context.Background()
		value := bytes.Repeat([]byte("x"), valueSize)
		for tick := range writes {
			_, err := s.Txn(ctx, state.Put(state.Keys.Observation("n1"), fmt.Appendf(nil, `{"tick":%d,"pad":"%s"}`, tick, value)))
			must(t, err)
		}
		return 0
	})
	// The backend commits once a second: the file grows to its peak after
	// the writes, and shrinks only after the compaction five seconds later.
	// etcd counts the pages a compaction freed at the commit after the
	// next, so the test keeps writing a small key as a node would.
	deadline := time.Now().Add(time.Minute)
	withStore(t, server, func(s state.Store) int64 {
		var peak, size int64
		for peak < 16<<20 || size > peak/4 || !compactedFrom(t, s, 1) {
			if time.Now().After(deadline) {
				t.Fatalf("after a minute with a 5 s history: compacted from revision 1: %v, database of %d bytes, peak %d; logs:\n%s",
					compactedFrom(t, s, 1), size, peak, logs.String())
			}
			time.Sleep(200 * time.Millisecond)
			_, err := s.Txn(context.Background(), state.Put(state.Keys.Observation("n2"), []byte(`{}`)))
			must(t, err)
			size = dbSize(t, server)
			peak = max(peak, size)
		}
		kv, found, _, err := s.Get(context.Background(), state.Keys.Observation("n1"))
		must(t, err)
		if !found || !bytes.HasPrefix(kv.Value, []byte(fmt.Sprintf(`{"tick":%d,`, writes-1))) {
			t.Fatalf("the latest observation went with the history: found %v, %.40s", found, kv.Value)
		}
		return 0
	})
	for _, want := range []string{`level=DEBUG msg="etcd history compacted"`, `level=DEBUG msg="etcd database defragmented"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s in the logs:\n%s", want, logs.String())
		}
	}
}

// dbSize is the size of the server's database file, as etcd reports it.
func dbSize(t *testing.T, server *state.Embedded) int64 {
	t.Helper()
	cli, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, err := cli.Status(ctx, server.Endpoints()[0])
	if err != nil {
		t.Fatal(err)
	}
	return status.DbSize
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
