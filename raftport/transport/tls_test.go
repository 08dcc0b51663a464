package transport_test

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
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// testCA is a throwaway certificate authority; its files live in the
// test's temporary directory.
type testCA struct {
	t      *testing.T
	dir    string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	file   string // PEM of the CA certificate
	serial int64
}

func newTestCA(t *testing.T) *testCA {
	ca := &testCA{t: t, dir: t.TempDir()}
	ca.key = newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "raftport test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ca.file = ca.write("ca.pem", "CERTIFICATE", der)
	ca.serial = 1
	return ca
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (ca *testCA) write(name, kind string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue signs a certificate for name (a server's IP address or a client's
// name) and returns its certificate and key files.
func (ca *testCA) issue(name string, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	ca.serial++
	key := newKey(ca.t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	base := strings.ReplaceAll(name, ".", "_")
	return ca.write(base+".pem", "CERTIFICATE", der), ca.write(base+"-key.pem", "EC PRIVATE KEY", keyDER)
}

// startTLSNATS runs an embedded server that accepts only TLS, with a
// certificate for serverName; verifyClients also demands a client
// certificate signed by ca.
func startTLSNATS(t *testing.T, ca *testCA, serverName string, verifyClients bool) *server.Server {
	certFile, keyFile := ca.issue(serverName, x509.ExtKeyUsageServerAuth)
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: certFile, KeyFile: keyFile, CaFile: ca.file, Verify: verifyClients})
	if err != nil {
		t.Fatal(err)
	}
	return startNATS(t, &server.Options{TLS: true, TLSConfig: cfg, TLSVerify: verifyClients, TLSTimeout: 5})
}

func tlsURL(s *server.Server) string {
	return "tls://" + s.Addr().String()
}

// roundTrip shows two connections can talk through the server.
func roundTrip(t *testing.T, a, b transport.Conn) {
	t.Helper()
	got := make(chan string, 1)
	if _, err := b.Subscribe(transport.VoteSubject("tls"), func(_, _ string, data []byte) { got <- string(data) }); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(transport.VoteSubject("tls"), "", []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "over tls" {
			t.Fatalf("received %q", m)
		}
	case <-time.After(groupWait):
		t.Fatal("no message through the TLS server")
	}
}

func dialTLS(t *testing.T, url string, opts ...nats.Option) (*transport.NATSConn, error) {
	c, err := transport.DialNATS(url, transport.WithNATSOptions(append(opts, nats.Timeout(5*time.Second))...))
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func TestNATSOverTLS(t *testing.T) {
	ca := newTestCA(t)
	s := startTLSNATS(t, ca, "127.0.0.1", false)
	url := tlsURL(s)
	var conns []transport.Conn
	for range 2 {
		c, err := dialTLS(t, url, nats.RootCAs(ca.file))
		if err != nil {
			t.Fatalf("dial with the CA: %v", err)
		}
		state, err := c.NATS().TLSConnectionState()
		if err != nil || !state.HandshakeComplete || len(state.VerifiedChains) == 0 {
			t.Fatalf("connection is not verified TLS: %+v, %v", state, err)
		}
		conns = append(conns, c)
	}
	roundTrip(t, conns[0], conns[1])

	// Without the CA the server's certificate is not trusted, and a
	// plaintext URL is upgraded to TLS by the server's demand, not let in.
	for _, u := range []string{url, "nats://" + s.Addr().String()} {
		if _, err := dialTLS(t, u); err == nil || !isUnknownAuthority(err) {
			t.Errorf("dial %s without the CA: %v, want an unknown authority", u, err)
		}
	}
}

func isUnknownAuthority(err error) bool {
	return strings.Contains(err.Error(), "unknown authority")
}

func TestNATSOverTLSChecksTheServerName(t *testing.T) {
	ca := newTestCA(t)
	s := startTLSNATS(t, ca, "nats.example", false)
	_, err := dialTLS(t, tlsURL(s), nats.RootCAs(ca.file))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("dial a server whose certificate names another host: %v, want a name mismatch", err)
	}
}

func TestNATSOverMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	s := startTLSNATS(t, ca, "127.0.0.1", true)
	url := tlsURL(s)
	// Under TLS 1.3 the server refuses the client's certificate after the
	// client finished its handshake, so the client reports either the
	// server's alert or the closed connection.
	if _, err := dialTLS(t, url, nats.RootCAs(ca.file)); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("a client without a certificate: %v, want the TLS handshake refused", err)
	}
	stranger := newTestCA(t)
	strangerCert, strangerKey := stranger.issue("node-x", x509.ExtKeyUsageClientAuth)
	if _, err := dialTLS(t, url, nats.RootCAs(ca.file), nats.ClientCert(strangerCert, strangerKey)); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("a client whose certificate another CA signed: %v, want the TLS handshake refused", err)
	}
	var conns []transport.Conn
	for _, name := range []string{"node-a", "node-b"} {
		certFile, keyFile := ca.issue(name, x509.ExtKeyUsageClientAuth)
		c, err := dialTLS(t, url, nats.RootCAs(ca.file), nats.ClientCert(certFile, keyFile))
		if err != nil {
			t.Fatalf("%s with its certificate: %v", name, err)
		}
		conns = append(conns, c)
	}
	roundTrip(t, conns[0], conns[1])
}
