package edge

import (
	"context"
	"crypto"
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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// testCA issues a leaf for name whose certificate names the OCSP responder at ocspURL, and
// writes the chain (leaf, CA) and the leaf's key into dir.
func testCA(t *testing.T, dir, name, ocspURL string) (certFile, keyFile string, ca *x509.Certificate, caKey crypto.Signer, leaf *x509.Certificate) {
	t.Helper()
	caKeyE, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pixcdn test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKeyE.PublicKey, caKeyE)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer: []string{ocspURL},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKeyE)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(leafDER)
	kb, _ := x509.MarshalECPrivateKey(leafKey)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	os.WriteFile(certFile, chain, 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, ca, caKeyE, leaf
}

func TestOCSPStapling(t *testing.T) {
	dir := t.TempDir()
	var asked atomic.Int64
	var ca *x509.Certificate
	var caKey crypto.Signer
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		resp, err := ocsp.CreateResponse(ca, ca, ocsp.Response{
			Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, caKey)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}))
	defer responder.Close()
	certFile, keyFile, caCert, key, leaf := testCA(t, dir, "ocsp.example", responder.URL)
	ca, caKey = caCert, key
	plainCert, plainKey, plainX509 := selfSigned(t, dir, "plain.example")
	o := newTestOrigin(t, newClock(), static("stapled", "Cache-Control: max-age=60"))
	doc := fmt.Sprintf(`listen: "127.0.0.1:0"
tls_listen: "127.0.0.1:0"
domains:
  - name: ocsp.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
  - name: plain.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
`, certFile, keyFile, o.srv.URL, plainCert, plainKey, o.srv.URL)
	e := startEdge(t, doc, nil)
	waitFor(t, "the first OCSP fetch", func() bool { return e.routes.Load().lookup("ocsp.example").ocsp.current() != nil })

	handshake := func(name string, root *x509.Certificate) tls.ConnectionState {
		pool := x509.NewCertPool()
		pool.AddCert(root)
		c, err := tls.Dial("tcp", e.TLSAddr(), &tls.Config{ServerName: name, RootCAs: pool})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer c.Close()
		return c.ConnectionState()
	}
	cs := handshake("ocsp.example", ca)
	if len(cs.OCSPResponse) == 0 {
		t.Fatal("no OCSP response stapled")
	}
	parsed, err := ocsp.ParseResponseForCert(cs.OCSPResponse, leaf, ca)
	if err != nil || parsed.Status != ocsp.Good {
		t.Fatalf("stapled response: %v, status %v", err, parsed)
	}
	if cs := handshake("plain.example", plainX509); len(cs.OCSPResponse) != 0 {
		t.Fatal("a certificate without a responder got a staple")
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("responder asked %d times; want once (refreshed half way through validity)", n)
	}
}

func TestOCSPStapleKeptThroughFailuresUntilExpiry(t *testing.T) {
	var fail atomic.Bool
	var ca *x509.Certificate
	var caKey crypto.Signer
	clk := newClock()
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := ocsp.ParseRequest(body)
		resp, _ := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: clk.Now().Add(-time.Minute), NextUpdate: clk.Now().Add(time.Hour)}, caKey)
		w.Write(resp)
	}))
	defer responder.Close()
	certFile, keyFile, caCert, key, _ := testCA(t, t.TempDir(), "o.example", responder.URL)
	ca, caKey = caCert, key
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	o := newOCSPStapler(&pair, clk.Now)
	next, err := o.refresh(context.Background())
	if err != nil || o.current() == nil || next != 30*time.Minute {
		t.Fatalf("first refresh: next %v, err %v", next, err)
	}
	fail.Store(true)
	if _, err := o.refresh(context.Background()); err == nil || o.current() == nil {
		t.Fatalf("a failed refresh must keep the valid staple (err %v)", err)
	}
	clk.Advance(61 * time.Minute)
	if _, err := o.refresh(context.Background()); err == nil || o.current() != nil {
		t.Fatal("an expired staple must be dropped")
	}
}
