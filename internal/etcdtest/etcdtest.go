// Package etcdtest runs a real etcd cluster for tests (internal/etcdcluster):
// each member is a separate process of the etcd server pinned in go.mod, on
// loopback ports, with its own data dir, so a test can stop, kill and
// restart members the way an outage does. Every process ends with the test
// that started it.
package etcdtest

import (
	"os"
	"os/exec"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/etcdcluster"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// Options shape the cluster.
type Options struct {
	// Members is 1 (the default) or more; 3 tolerates one member down.
	Members int
	// Certs, when set, turn on TLS with client-certificate authentication
	// (NewCerts); Client then presents the client certificate.
	Certs *Certs
}

// Cluster is a running etcd cluster of member processes, driven by its
// test's goroutine.
type Cluster struct {
	t       testing.TB
	cluster *etcdcluster.Cluster
	tls     state.ClientTLS
}

// Start builds (once per test binary) and starts the cluster, and returns
// when every member is healthy. The members end with the test; when it
// fails, their logs are printed.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	cfg := etcdcluster.Config{Binary: serverBinary(t), Dir: t.TempDir(), Members: opts.Members}
	c := &Cluster{t: t}
	if opts.Certs != nil {
		cfg.TLS, c.tls = opts.Certs.Server(), opts.Certs.Client()
	}
	cluster, err := etcdcluster.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cluster = cluster
	t.Cleanup(c.cleanup)
	return c
}

func serverBinary(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Unavailable(t, "needs the go command to build the pinned etcd server: "+err.Error())
	}
	binary, err := etcdcluster.ServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	return binary
}

// Endpoints are the client URLs of every member, in member order.
func (c *Cluster) Endpoints() []string { return c.cluster.Endpoints() }

// ClientTLS is what a client of the cluster presents: empty without TLS.
func (c *Cluster) ClientTLS() state.ClientTLS { return c.tls }

// Client connects to every member with sluice's own client settings and
// closes the client when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := state.Dial(state.ClientConfig{Endpoints: c.Endpoints(), TLS: c.tls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Stop ends member i with SIGTERM, as an orderly shutdown does, and waits for
// it; its data dir stays for Start.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	if err := c.cluster.Stop(i); err != nil {
		c.t.Fatal(err)
	}
}

// Kill ends member i with SIGKILL, as a crash does, and waits for it.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	if err := c.cluster.Kill(i); err != nil {
		c.t.Fatal(err)
	}
}

// Start restarts a stopped member i on its data dir and ports, and returns
// when it is healthy, which takes a quorum of members running.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	if err := c.cluster.StartMember(i); err != nil {
		c.t.Fatal(err)
	}
}

// cleanup kills what still runs, then shows the logs of a failed test.
func (c *Cluster) cleanup() {
	if err := c.cluster.KillAll(); err != nil {
		c.t.Error(err)
	}
	if !c.t.Failed() {
		return
	}
	for _, log := range c.cluster.Logs() {
		name, path := log[0], log[1]
		text, err := os.ReadFile(path)
		if err != nil {
			c.t.Logf("etcd member %s: no log: %v", name, err)
			continue
		}
		c.t.Logf("etcd member %s log (%s):\n%s", name, path, text)
	}
}
