package etcdtest_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// A member keeps its data across a stop and a crash: what was written before
// is read after each restart, on the same endpoint.
func TestMemberRestartsOnItsData(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{})
	cli := cluster.Client(t)
	put(t, cli, "/kept", "yes")

	cluster.Stop(0)
	cluster.Start(0)
	if got := get(t, cli, "/kept"); got != "yes" {
		t.Fatalf("after stop and start: /kept = %q, want yes", got)
	}

	cluster.Kill(0)
	cluster.Start(0)
	if got := get(t, cli, "/kept"); got != "yes" {
		t.Fatalf("after kill and start: /kept = %q, want yes", got)
	}
}

// Three members form one cluster: a write through one is read through
// another.
func TestThreeMembersShareWrites(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3})
	endpoints := cluster.Endpoints()
	if len(endpoints) != 3 {
		t.Fatalf("endpoints %v, want 3", endpoints)
	}
	first := memberClient(t, endpoints[0])
	last := memberClient(t, endpoints[2])
	put(t, first, "/shared", "through the first")
	if got := get(t, last, "/shared"); got != "through the first" {
		t.Fatalf("read through the last member: %q", got)
	}
}

func memberClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func put(t *testing.T, cli *clientv3.Client, key, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, value); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// With certificates, the three members serve clients that present the
// client certificate and refuse those that present none.
func TestThreeMembersWithClientCertificates(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, Certs: &certs})
	cli := cluster.Client(t)
	put(t, cli, "/secured", "yes")
	if got := get(t, cli, "/secured"); got != "yes" {
		t.Fatalf("read back %q", got)
	}
	anonymous, err := state.Dial(state.ClientConfig{Endpoints: cluster.Endpoints(), TLS: state.ClientTLS{CACert: certs.CA}})
	if err != nil {
		t.Fatal(err)
	}
	defer anonymous.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := anonymous.Get(ctx, "/secured"); err == nil {
		t.Fatal("a client without a certificate read the cluster")
	}
}
