package state_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// With TLS and a client CA, the embedded server serves a client that
// presents a certificate the CA signed, and refuses one that presents none.
func TestEmbeddedRequiresClientCertificate(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	server, err := state.StartEmbedded(state.EmbeddedConfig{
		DataDir: filepath.Join(t.TempDir(), "etcd"), ClientURL: "https://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		TLS: certs.Server(), ClientTLS: certs.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	withStore(t, server, func(s state.Store) int64 {
		rev, err := s.Txn(context.Background(), state.Put(state.Keys.App("", "web"), []byte(`{"name":"web"}`)))
		must(t, err)
		return rev
	})

	for name, tls := range map[string]state.ClientTLS{
		"no certificate":     {CACert: certs.CA},
		"no TLS at all":      {},
		"a self-signed cert": etcdtest.NewCerts(t).Client(),
	} {
		t.Run(name, func(t *testing.T) {
			endpoints := server.Endpoints()
			if tls.Empty() {
				endpoints = []string{"http" + endpoints[0][len("https"):]}
			}
			cli, err := state.Dial(state.ClientConfig{Endpoints: endpoints, TLS: tls})
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if _, err := cli.Get(ctx, state.Root); err == nil {
				t.Fatal("the server answered a client without a certificate its CA signed")
			}
		})
	}
}

// The embedded server refuses plain HTTP on an address beyond loopback,
// and says why.
func TestEmbeddedRefusesPlainNonLoopback(t *testing.T) {
	for _, cfg := range []state.EmbeddedConfig{
		{ClientURL: "http://0.0.0.0:0", PeerURL: "http://127.0.0.1:0"},
		{ClientURL: "http://127.0.0.1:0", PeerURL: "http://0.0.0.0:0"},
		{ClientURL: "http://example.internal:2379", PeerURL: "http://127.0.0.1:0"},
	} {
		cfg.DataDir = filepath.Join(t.TempDir(), "etcd")
		server, err := state.StartEmbedded(cfg)
		if err == nil {
			server.Close()
			t.Fatalf("client %s, peer %s: started, want a refusal", cfg.ClientURL, cfg.PeerURL)
		}
		if !errors.Is(err, state.ErrPlainNonLoopback) {
			t.Fatalf("client %s, peer %s: %v, want ErrPlainNonLoopback", cfg.ClientURL, cfg.PeerURL, err)
		}
	}
}
