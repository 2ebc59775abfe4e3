// Package etcdcluster runs an etcd cluster on one machine: each member is a
// process of the etcd server pinned in go.mod (`go tool etcd`), with its own
// data dir and loopback ports. The tests (internal/etcdtest), `sluice etcd
// cluster` and `sluice bench cluster` start their clusters with it.
package etcdcluster

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-io/sluice/state"
)

// ServerTool is the etcd server's main package, pinned with `tool` in go.mod
// at the version of the client and the embedded server.
const ServerTool = "go.etcd.io/etcd/server/v3"

// Timeouts of the member processes.
const (
	// ReadyTimeout bounds the wait for a started member to serve; a
	// three-member cluster needs a leader election first.
	ReadyTimeout = 30 * time.Second
	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 10 * time.Second
)

// Config shapes a cluster.
type Config struct {
	// Binary is the etcd server to run (ServerBinary builds the pinned one).
	Binary string
	// Dir holds each member's data dir and log. A member whose data dir
	// exists rejoins with what it holds.
	Dir string
	// Members is 1 (the default) or more; 3 tolerates one member down.
	Members int
	// Ports are the members' client and peer ports, two per member in
	// member order; nil picks free ones. A cluster restarted on its Dir
	// needs the ports it had.
	Ports []int
	// TLS serves clients and peers over https with client-certificate
	// authentication; empty serves plain HTTP on loopback.
	TLS state.ServerTLS
	// History is how much of the event log the members keep when they
	// compact [state.DefaultRetention], as the embedded server does.
	History state.Retention
}

// Cluster is a running etcd cluster of member processes, driven by one
// goroutine.
type Cluster struct {
	cfg     Config
	members []*member
}

// Start starts the cluster and returns when every member is healthy. On
// failure, what it started is stopped.
func Start(cfg Config) (*Cluster, error) {
	count := max(cfg.Members, 1)
	if tls := cfg.TLS; !tls.Empty() && (tls.Cert == "" || tls.Key == "" || tls.ClientCA == "") {
		return nil, fmt.Errorf("etcd cluster TLS: a certificate (%q), its key (%q) and a client CA (%q) go together", tls.Cert, tls.Key, tls.ClientCA)
	}
	ports, err := cfg.ports(count)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd cluster dir: %w", err)
	}
	scheme := "http"
	if !cfg.TLS.Empty() {
		scheme = "https"
	}
	c := &Cluster{cfg: cfg}
	for i := range count {
		url := func(port int) string { return fmt.Sprintf("%s://127.0.0.1:%d", scheme, port) }
		c.members = append(c.members, newMember(cfg.Dir, i, url(ports[2*i]), url(ports[2*i+1]), cfg.TLS))
	}
	mode, retention := cmp.Or(cfg.History, state.DefaultRetention).AutoCompaction()
	initial := c.initialCluster()
	for _, m := range c.members {
		m.args = append(m.args, "--initial-cluster", initial,
			"--auto-compaction-mode", mode, "--auto-compaction-retention", retention)
	}
	for _, m := range c.members {
		if err := m.start(cfg.Binary); err != nil {
			c.Close()
			return nil, err
		}
	}
	for i := range c.members {
		if err := c.waitHealthy(i); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

func (cfg Config) ports(count int) ([]int, error) {
	if cfg.Ports == nil {
		return FreeLoopbackPorts(2 * count)
	}
	if len(cfg.Ports) != 2*count {
		return nil, fmt.Errorf("etcd cluster: %d ports for %d members, want two each", len(cfg.Ports), count)
	}
	return cfg.Ports, nil
}

var buildServer = sync.OnceValues(func() (string, error) {
	// `go tool -n` builds the pinned tool into the build cache (the module
	// proxy is all a fresh machine needs) and prints where it is.
	out, err := exec.Command("go", "tool", "-n", ServerTool).Output()
	if err != nil {
		var stderr []byte
		if exitErr := (*exec.ExitError)(nil); errors.As(err, &exitErr) {
			stderr = exitErr.Stderr
		}
		return "", fmt.Errorf("build the etcd server (go tool -n %s): %w\n%s", ServerTool, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
})

// ServerBinary builds the pinned etcd server, once per process, and says
// where it is. It needs the go command and runs in the module.
func ServerBinary() (string, error) { return buildServer() }

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

// Members is how many members the cluster has, running or not.
func (c *Cluster) Members() int { return len(c.members) }

// PIDs are the process ids of the running members, for measuring them.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, m := range c.members {
		if m.running != nil {
			pids = append(pids, m.running.cmd.Process.Pid)
		}
	}
	return pids
}

// Stop ends member i with SIGTERM, as an orderly shutdown does, and waits for
// it; its data dir stays for StartMember. etcd refuses new connections at
// once but gives open watches up to 7 s to end before it exits.
func (c *Cluster) Stop(i int) error { return c.members[i].stop(syscall.SIGTERM, stopTimeout) }

// Kill ends member i with SIGKILL, as a crash does, and waits for it.
func (c *Cluster) Kill(i int) error { return c.members[i].stop(syscall.SIGKILL, stopTimeout) }

// StartMember restarts a stopped member i on its data dir and ports, and
// returns when it is healthy, which takes a quorum of members running.
func (c *Cluster) StartMember(i int) error {
	if err := c.members[i].start(c.cfg.Binary); err != nil {
		return err
	}
	return c.waitHealthy(i)
}

func (c *Cluster) waitHealthy(i int) error {
	return c.members[i].waitHealthy(ReadyTimeout)
}

// Close stops every member that still runs with SIGTERM, and kills what
// does not end in time.
func (c *Cluster) Close() error {
	var errs []error
	for i := range c.members {
		errs = append(errs, c.Stop(i))
	}
	return errors.Join(errs...)
}

// KillAll kills every member that still runs, for a test's cleanup.
func (c *Cluster) KillAll() error {
	var errs []error
	for i := range c.members {
		errs = append(errs, c.Kill(i))
	}
	return errors.Join(errs...)
}

// Logs are each member's name and the path of its log, in member order.
func (c *Cluster) Logs() [][2]string {
	logs := make([][2]string, len(c.members))
	for i, m := range c.members {
		logs[i] = [2]string{m.name, m.logPath}
	}
	return logs
}

// FreeLoopbackPorts finds n distinct free ports on loopback, holding each
// until all are found. Another process could take one before etcd binds it;
// that member's start then fails with the port named in its log.
func FreeLoopbackPorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range n {
		probe, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer probe.Close()
		ports[i] = probe.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// dataDir is member i's data dir under dir.
func dataDir(dir, name string) string { return filepath.Join(dir, name) }
