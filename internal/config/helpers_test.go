package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid document: one fs domain over testdata/site.
const minimal = `domains:
  - name: example.com
    origin:
      root: testdata/site
`

// noEnv is a lookup with an empty environment, so tests do not depend on the machine's.
func noEnv(string) (string, bool) { return "", false }

// mustParse parses doc and fails the test on any error.
func mustParse(t testing.TB, doc string) *Config {
	t.Helper()
	c, err := parse([]byte(doc), "test.yaml", noEnv)
	if err != nil {
		t.Fatalf("parse: %v\ndocument:\n%s", err, doc)
	}
	return c
}

// where renders each joined error as "FILE:LINE: FIELD", failing on one that is not an *Error.
func where(t testing.TB, err error) []string {
	t.Helper()
	var out []string
	for _, e := range flatten(err) {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Fatalf("error %T is not an *Error: %v", e, e)
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", ce.File, ce.Line, ce.Field))
	}
	return out
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// writeKeyPair writes a self-signed certificate for names and its key into dir.
func writeKeyPair(t testing.TB, dir string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, strings.ReplaceAll(names[0], "*", "_"))
	certFile, keyFile = base+".crt", base+".key"
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
