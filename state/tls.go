package state

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"

	"go.etcd.io/etcd/client/pkg/v3/transport"
)

// ClientTLS names the files a client secures its connections to etcd with,
// as etcdctl's --cacert, --cert and --key do. All empty is plain HTTP.
type ClientTLS struct {
	// CACert verifies the members' certificates; empty trusts the system's
	// roots.
	CACert string
	// Cert and Key are the client's own certificate, which a server with
	// client-certificate authentication asks for. Both or neither.
	Cert, Key string
}

// Empty says no TLS was asked for.
func (c ClientTLS) Empty() bool { return c == ClientTLS{} }

// config is the client's TLS configuration, nil for plain HTTP.
func (c ClientTLS) config() (*tls.Config, error) {
	if c.Empty() {
		return nil, nil
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, fmt.Errorf("etcd client TLS: give both a certificate (%q) and its key (%q), or neither", c.Cert, c.Key)
	}
	info := transport.TLSInfo{CertFile: c.Cert, KeyFile: c.Key, TrustedCAFile: c.CACert}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd client TLS (ca %q, cert %q, key %q): %w", c.CACert, c.Cert, c.Key, err)
	}
	return cfg, nil
}

// ServerTLS secures the embedded server's client port: it serves HTTPS with
// Cert and Key and, with ClientCA, accepts only clients whose certificate
// ClientCA signed.
type ServerTLS struct {
	Cert, Key string
	// ClientCA turns on client-certificate authentication: a client
	// without a certificate it signed is refused during the handshake.
	ClientCA string
}

// Empty says no TLS was asked for.
func (s ServerTLS) Empty() bool { return s == ServerTLS{} }

func (s ServerTLS) check() error {
	if s.Cert == "" || s.Key == "" {
		return fmt.Errorf("embedded etcd TLS: a certificate (%q) and its key (%q) are both required", s.Cert, s.Key)
	}
	return nil
}

// info is etcd's form of the settings. Auto TLS stays off: a self-signed
// certificate nobody can verify would only look secure.
func (s ServerTLS) info() transport.TLSInfo {
	return transport.TLSInfo{
		CertFile: s.Cert, KeyFile: s.Key,
		TrustedCAFile: s.ClientCA, ClientCertAuth: s.ClientCA != "",
	}
}

// ErrPlainNonLoopback is why the embedded server refuses to serve plain
// HTTP beyond loopback: anything that reaches the address (a container on
// the Docker bridge, another host) could read and write every key, with no
// password asked.
var ErrPlainNonLoopback = errors.New("plain HTTP beyond loopback lets anything that reaches the address " +
	"(a container on the Docker bridge, another host) read and write every key")

// exposureFix tells the operator how to get past ErrPlainNonLoopback.
var exposureFix = map[string]string{
	"client": "serve https:// with a certificate and a client CA (--etcd-server-cert, --etcd-server-key, --etcd-client-ca), or listen on 127.0.0.1",
	"peer":   "a single member has no peers, so listen on 127.0.0.1",
}

// checkExposure refuses a listen URL that is reachable from beyond the host
// without TLS. A host name other than localhost counts as reachable: what
// it resolves to can change.
func checkExposure(which string, u *url.URL, secured bool) error {
	if secured || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("embedded etcd %s URL %s refused: %w; %s", which, u, ErrPlainNonLoopback, exposureFix[which])
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
