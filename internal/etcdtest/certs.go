package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Certs are PEM files of a throwaway certificate authority and what it
// signed, for tests of etcd with TLS and client-certificate authentication.
type Certs struct {
	// CA is the authority's certificate: members trust clients it signed,
	// and clients trust members it signed.
	CA string
	// ServerCert and ServerKey are valid for 127.0.0.1 and localhost; a
	// member also presents them as a client, to itself and its peers.
	ServerCert, ServerKey string
	// ClientCert and ClientKey are a client's identity.
	ClientCert, ClientKey string
}

// Client is what a client that presents the client certificate uses.
func (c Certs) Client() state.ClientTLS {
	return state.ClientTLS{CACert: c.CA, Cert: c.ClientCert, Key: c.ClientKey}
}

// Server is what the embedded server needs to require that certificate.
func (c Certs) Server() state.ServerTLS {
	return state.ServerTLS{Cert: c.ServerCert, Key: c.ServerKey, ClientCA: c.CA}
}

// NewCerts creates a CA, a server and a client certificate in the test's
// temporary directory. They are valid for an hour.
func NewCerts(t testing.TB) Certs {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := newCertificate(t, "sluice test CA", nil, nil, func(tmpl *x509.Certificate) {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	})
	certs := Certs{CA: writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)}
	server, serverKey := newCertificate(t, "etcd member", ca, caKey, func(tmpl *x509.Certificate) {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	})
	certs.ServerCert = writePEM(t, dir, "server.pem", "CERTIFICATE", server.Raw)
	certs.ServerKey = writeKey(t, dir, "server-key.pem", serverKey)
	client, clientKey := newCertificate(t, "sluice", ca, caKey, func(tmpl *x509.Certificate) {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	certs.ClientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", client.Raw)
	certs.ClientKey = writeKey(t, dir, "client-key.pem", clientKey)
	return certs
}

// newCertificate signs a certificate for name with parent, or itself when
// parent is nil.
func newCertificate(t testing.TB, name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, shape func(*x509.Certificate)) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	shape(tmpl)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("sign the certificate of %s: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writeKey(t testing.TB, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der)
}

func writePEM(t testing.TB, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
