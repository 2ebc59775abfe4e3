package etcdtest

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// Embedded starts sluice's own embedded etcd, as an agent does by default,
// on free loopback ports with its data in the test's temporary directory,
// and returns it with a store on it. Everything stops when the test ends:
// the store, then its client, then the server.
func Embedded(t testing.TB) (*state.Embedded, *state.EtcdStore) {
	t.Helper()
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		// etcd wants its data dir private (0700) and creates it so.
		DataDir:   filepath.Join(t.TempDir(), "etcd"),
		ClientURL: "http://127.0.0.1:0",
		PeerURL:   "http://127.0.0.1:0",
		Logger:    slog.New(slog.NewTextHandler(testLog{t}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	cli, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewEtcdStore(cli)
	// Cleanups run last-in first-out.
	t.Cleanup(func() { cli.Close() })
	t.Cleanup(func() { store.Close() })
	return server, store
}

// testLog sends etcd's warnings to the test log, where they show only for
// a failing test or with -v.
type testLog struct{ t testing.TB }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
