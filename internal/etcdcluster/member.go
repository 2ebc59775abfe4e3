package etcdcluster

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"

	"github.com/sluice-io/sluice/state"
)

// healthPoll is how often waitHealthy asks a member, which bounds how late a
// test learns that the member serves again.
const healthPoll = 20 * time.Millisecond

// member is one etcd process, or the data and ports of a stopped one.
type member struct {
	name      string
	logPath   string
	clientURL string
	peerURL   string
	args      []string
	tls       state.ServerTLS
	running   *process // nil while stopped
}

// process is one run of a member; exited closes once it has been reaped.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func newMember(dir string, i int, clientURL, peerURL string, tls state.ServerTLS) *member {
	name := fmt.Sprintf("member%d", i)
	m := &member{
		name:      name,
		logPath:   filepath.Join(dir, name+".log"),
		clientURL: clientURL,
		peerURL:   peerURL,
		tls:       tls,
		// The initial cluster flags only matter on the first start: a
		// restart reads the membership from the data dir.
		args: []string{
			"--name", name,
			"--data-dir", dataDir(dir, name),
			"--listen-client-urls", clientURL,
			"--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster-state", "new",
			"--initial-cluster-token", "sluice-" + filepath.Base(dir),
		},
	}
	if !tls.Empty() {
		// Members present their certificate to each other too, so peers
		// and clients are held to the same CA.
		m.args = append(m.args,
			"--cert-file", tls.Cert, "--key-file", tls.Key,
			"--client-cert-auth", "--trusted-ca-file", tls.ClientCA,
			"--peer-cert-file", tls.Cert, "--peer-key-file", tls.Key,
			"--peer-client-cert-auth", "--peer-trusted-ca-file", tls.ClientCA,
		)
	}
	return m
}

// start launches the member; its output is appended to its log file.
func (m *member) start(binary string) error {
	if m.running != nil {
		return fmt.Errorf("etcd member %s is already running", m.name)
	}
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("etcd member %s: open its log: %w", m.name, err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "--- etcdcluster: start %s %s\n", m.name, strings.Join(m.args, " "))
	cmd := exec.Command(binary, m.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the process that started it dies (a panic, go test's timeout),
	// the kernel kills the member too, so no etcd outlives its owner.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("etcd member %s: start %s: %w", m.name, binary, err)
	}
	proc := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.exited)
	}()
	m.running = proc
	return nil
}

// stop sends sig and waits for the process to end, killing it after
// timeout. Stopping a stopped member does nothing.
func (m *member) stop(sig syscall.Signal, timeout time.Duration) error {
	proc := m.running
	if proc == nil {
		return nil
	}
	m.running = nil
	// An error here means the process has already exited: nothing to do.
	_ = proc.cmd.Process.Signal(sig)
	select {
	case <-proc.exited:
		return nil
	case <-time.After(timeout):
		_ = proc.cmd.Process.Kill()
		<-proc.exited
		return fmt.Errorf("etcd member %s did not end within %v of %v; killed it", m.name, timeout, sig)
	}
}

// healthClient asks /health as the member's peers do: with its own
// certificate, which a cluster with client-certificate authentication
// requires of every caller.
func (m *member) healthClient() (*http.Client, error) {
	client := &http.Client{Timeout: time.Second}
	if m.tls.Empty() {
		return client, nil
	}
	info := transport.TLSInfo{CertFile: m.tls.Cert, KeyFile: m.tls.Key, TrustedCAFile: m.tls.ClientCA}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd member %s: TLS for its health check: %w", m.name, err)
	}
	client.Transport = &http.Transport{TLSClientConfig: cfg}
	return client, nil
}

// waitHealthy polls the member's /health, which answers true once the member
// has a leader and serves a linearizable read.
func (m *member) waitHealthy(timeout time.Duration) error {
	proc := m.running
	if proc == nil {
		return fmt.Errorf("etcd member %s is not running", m.name)
	}
	client, err := m.healthClient()
	if err != nil {
		return err
	}
	deadline := time.After(timeout)
	tick := time.NewTicker(healthPoll)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = checkHealth(client, m.clientURL+"/health"); lastErr == nil {
			return nil
		}
		select {
		case <-proc.exited:
			m.running = nil
			return fmt.Errorf("etcd member %s exited before it was healthy (%v); see %s", m.name, proc.err, m.logPath)
		case <-deadline:
			return fmt.Errorf("etcd member %s not healthy after %v: %w", m.name, timeout, lastErr)
		case <-tick.C:
		}
	}
}

func checkHealth(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return errors.New(url + ": " + resp.Status + " " + strings.TrimSpace(string(body)))
	}
	return nil
}
