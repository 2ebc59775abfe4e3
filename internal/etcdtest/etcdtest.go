// Package etcdtest runs a real etcd cluster for tests: each member is a
// separate process of the etcd server pinned in go.mod, on loopback ports,
// with its own data dir, so a test can stop, kill and restart members the way
// an outage does. Every process ends with the test that started it.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// serverTool is the etcd server's main package, pinned with `tool` in go.mod
// at the version of the client and the embedded server.
const serverTool = "go.etcd.io/etcd/server/v3"

// Timeouts of the member processes.
const (
	// readyTimeout bounds the wait for a started member to serve; a
	// three-member cluster needs a leader election first.
	readyTimeout = 30 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 10 * time.Second
)

// Options shape the cluster.
type Options struct {
	// Members is 1 (the default) or more; 3 tolerates one member down.
	Members int
}

// Cluster is a running etcd cluster of member processes, driven by its
// test's goroutine.
type Cluster struct {
	t       testing.TB
	binary  string
	members []*member
}

// Start builds (once per test binary) and starts the cluster, and returns
// when every member is healthy. The members end with the test; when it
// fails, their logs are printed.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, binary: serverBinary(t)}
	count := max(opts.Members, 1)
	urls, err := freeLoopbackURLs(2 * count)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range count {
		c.members = append(c.members, newMember(dir, i, urls[2*i], urls[2*i+1]))
	}
	initial := c.initialCluster()
	for _, m := range c.members {
		m.args = append(m.args, "--initial-cluster", initial)
	}
	t.Cleanup(c.cleanup)
	for _, m := range c.members {
		if err := m.start(c.binary); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.members {
		c.waitHealthy(i)
	}
	return c
}

var buildServer = sync.OnceValues(func() (string, error) {
	// `go tool -n` builds the pinned tool into the build cache (the module
	// proxy is all a fresh machine needs) and prints where it is.
	out, err := exec.Command("go", "tool", "-n", serverTool).Output()
	if err != nil {
		var stderr []byte
		if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
			stderr = exitErr.Stderr
		}
		return "", fmt.Errorf("build the etcd server (go tool -n %s): %w\n%s", serverTool, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
})

func serverBinary(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Unavailable(t, "needs the go command to build the pinned etcd server: "+err.Error())
	}
	binary, err := buildServer()
	if err != nil {
		t.Fatal(err)
	}
	return binary
}

func (c *Cluster) initialCluster() string {
	peers := make([]string, len(c.members))
	for i, m := range c.members {
		peers[i] = m.name + "=" + m.peerURL
	}
	return strings.Join(peers, ",")
}

// Endpoints are the client URLs of every member, in member order.
func (c *Cluster) Endpoints() []string {
	urls := make([]string, len(c.members))
	for i, m := range c.members {
		urls[i] = m.clientURL
	}
	return urls
}

// Client connects to every member with sluice's own client settings and
// closes the client when the test ends.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := state.Dial(state.ClientConfig{Endpoints: c.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Stop ends member i with SIGTERM, as an orderly shutdown does, and waits for
// it; its data dir stays for Start. etcd refuses new connections at once but
// gives open watches up to 7 s to end before it exits.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	if err := c.members[i].stop(syscall.SIGTERM, stopTimeout); err != nil {
		c.t.Fatal(err)
	}
}

// Kill ends member i with SIGKILL, as a crash does, and waits for it.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	if err := c.members[i].stop(syscall.SIGKILL, stopTimeout); err != nil {
		c.t.Fatal(err)
	}
}

// Start restarts a stopped member i on its data dir and ports, and returns
// when it is healthy, which takes a quorum of members running.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	if err := c.members[i].start(c.binary); err != nil {
		c.t.Fatal(err)
	}
	c.waitHealthy(i)
}

func (c *Cluster) waitHealthy(i int) {
	c.t.Helper()
	if err := c.members[i].waitHealthy(readyTimeout); err != nil {
		c.t.Fatal(err)
	}
}

// cleanup kills what still runs, then shows the logs of a failed test.
func (c *Cluster) cleanup() {
	for _, m := range c.members {
		if err := m.stop(syscall.SIGKILL, stopTimeout); err != nil {
			c.t.Error(err)
		}
	}
	if !c.t.Failed() {
		return
	}
	for _, m := range c.members {
		log, err := os.ReadFile(m.logPath)
		if err != nil {
			c.t.Logf("etcd member %s: no log: %v", m.name, err)
			continue
		}
		c.t.Logf("etcd member %s log (%s):\n%s", m.name, m.logPath, log)
	}
}

// freeLoopbackURLs finds n distinct free ports on loopback, holding each
// until all are found. Another process could take one before etcd binds it;
// that member's start then fails with the port named in its log.
func freeLoopbackURLs(n int) ([]string, error) {
	urls := make([]string, n)
	for i := range n {
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer probe.Close()
		urls[i] = "http://" + probe.Addr().String()
	}
	return urls, nil
}
