package edge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/store"
)

// selfSigned writes a certificate for name and its key into dir and returns the paths and
// the parsed certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// startEdge runs an edge from a configuration document until the test ends.
func startEdge(t *testing.T, doc string, now func() time.Time) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, st, Options{Logger: quietLogger(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Shutdown(context.Background())
		st.Close()
	})
	return e
}

func TestTLSWithSNIAndHTTP2(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	o := newTestOrigin(t, clk, static("over tls", "Cache-Control: max-age=60"))
	aCert, aKey, aX509 := selfSigned(t, dir, "a.example")
	bCert, bKey, bX509 := selfSigned(t, dir, "b.example")
	doc := fmt.Sprintf(`listen: "127.0.0.1:0"
tls_listen: "127.0.0.1:0"
domains:
  - name: a.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
  - name: b.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
`, aCert, aKey, o.srv.URL, bCert, bKey, o.srv.URL)
	e := startEdge(t, doc, clk.Now)

	for _, tc := range []struct {
		host string
		cert *x509.Certificate
	}{{"a.example", aX509}, {"b.example", bX509}} {
		pool := x509.NewCertPool()
		pool.AddCert(tc.cert)
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: tc.host},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, e.TLSAddr())
			},
		}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + tc.host + "/x")
		if err != nil {
			t.Fatalf("%s: %v", tc.host, err) // a wrong certificate fails verification here
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || string(body) != "over tls" {
			t.Fatalf("%s: %s %q", tc.host, resp.Proto, body)
		}
		if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != tc.host {
			t.Fatalf("SNI %s got certificate for %s", tc.host, got)
		}
		tr.CloseIdleConnections()
	}
}

func TestHTTPSOnlyHSTSMinVersionAndCertificateReload(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	o := newTestOrigin(t, clk, static("secure", "Cache-Control: max-age=60"))
	certFile, keyFile, first := selfSigned(t, dir, "s.example")
	doc := fmt.Sprintf(`listen: "127.0.0.1:0"
tls_listen: "127.0.0.1:0"
server: {tls_min_version: "1.3"}
domains:
  - name: s.example
    tls:
      cert: %q
      key: %q
      https_only: true
      hsts: {max_age: 8760h, include_subdomains: true}
    origin: {servers: [{url: %q}]}
`, certFile, keyFile, o.srv.URL)
	cfg, err := config.Parse([]byte(doc), "tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := store.Open(store.Config{MemoryBytes: 16 << 20})
	defer st.Close()
	e, err := New(cfg, st, Options{Logger: quietLogger(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())

	// Plain HTTP: a redirect to the same URL on https, port of tls_listen.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.Addr()+"/p?q=1", nil)
	req.Host = "s.example"
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, tlsPort, _ := net.SplitHostPort(e.TLSAddr())
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://s.example:"+tlsPort+"/p?q=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if o.hits.Load() != 0 {
		t.Fatal("the plain request reached the origin")
	}

	client := func(cert *x509.Certificate, maxVersion uint16) *http.Client {
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		return &http.Client{Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "s.example", MaxVersion: maxVersion},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, e.TLSAddr())
			},
		}}
	}
	if _, err := client(first, tls.VersionTLS12).Get("https://s.example/x"); err == nil {
		t.Fatal("a TLS 1.2 client was accepted with tls_min_version 1.3")
	}
	resp, err = client(first, 0).Get("https://s.example/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "max-age=31536000; includeSubDomains" {
		t.Fatalf("HSTS %q", resp.Header.Get("Strict-Transport-Security"))
	}

	// A renewed certificate takes effect on reload, without a restart.
	_, _, renewed := selfSigned(t, dir, "s.example")
	cfg2, err := config.Parse([]byte(doc), "tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(cfg2); err != nil {
		t.Fatal(err)
	}
	resp, err = client(renewed, 0).Get("https://s.example/x")
	if err != nil {
		t.Fatalf("renewed certificate not served: %v", err)
	}
	resp.Body.Close()
}
