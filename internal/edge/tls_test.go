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
	cfg, err := config.Parse([]byte(doc), "tls.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := New(cfg, st, Options{Logger: quietLogger(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())

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
