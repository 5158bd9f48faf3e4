package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
	"github.com/pixcdn/pixcdn/bench/internal/pixcdnbin"
)

// domain is the one site the edge serves; its certificate is made for the run.
const domain = "bench.example"

// edgeRun is the edge process, the origin in this process, and what the clients need to reach
// and trust the edge.
type edgeRun struct {
	p            *children.Proc
	origin       *http.Server
	https, http3 string // bound addresses, from the edge's log
	pool         *x509.CertPool
	originHits   atomic.Int64
	logPath      string
}

// startEdge starts the origin, writes a certificate and the edge's configuration into work,
// and runs the edge until it logs its listening addresses.
func startEdge(work, bin string, sizes []int) (*edgeRun, error) {
	e := &edgeRun{pool: x509.NewCertPool()}
	originURL, err := e.startOrigin(sizes)
	if err != nil {
		return nil, err
	}
	certFile, keyFile, err := e.writeCert(work)
	if err != nil {
		e.origin.Close()
		return nil, err
	}
	if bin == "" {
		if bin, err = pixcdnbin.Build(work); err != nil {
			e.origin.Close()
			return nil, err
		}
	}
	conf := fmt.Sprintf(`node_name: bench
listen: "off"
tls_listen: "127.0.0.1:0"
log: {format: json, level: info}
cache: {memory_size: 256MiB}
domains:
  - name: %s
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
`, domain, certFile, keyFile, originURL)
	cf := filepath.Join(work, "edge.yaml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		e.origin.Close()
		return nil, err
	}
	if err := e.startProcess(work, bin, cf); err != nil {
		e.origin.Close()
		return nil, err
	}
	return e, nil
}

// startOrigin serves /<size>.bin for each size, cacheable for a day, not compressible.
func (e *edgeRun) startOrigin(sizes []int) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	bodies := map[string][]byte{}
	for _, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		bodies["/"+strconv.Itoa(n)+".bin"] = b
	}
	e.origin = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.originHits.Add(1)
		b, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(b)
	})}
	go e.origin.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// writeCert writes a self-signed certificate for domain and trusts it.
func (e *edgeRun) writeCert(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	cert, _ := x509.ParseCertificate(der)
	e.pool.AddCert(cert)
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "edge.crt"), filepath.Join(dir, "edge.key")
	err = errors.Join(
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile, err
}

// startProcess runs `pixcdn edge -config cf`, its log in work, and waits (20 s at most) for the
// line that names its addresses.
func (e *edgeRun) startProcess(work, bin, cf string) error {
	e.logPath = filepath.Join(work, "edge.log")
	lf, err := os.Create(e.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "edge", "-config", cf)
	cmd.Stdout, cmd.Stderr = lf, lf
	if *procs > 0 {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(*procs))
	}
	e.p, err = children.Start("pixcdn edge", cmd, lf)
	if err != nil {
		lf.Close()
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !e.p.Exited() {
		if e.readAddrs() {
			return e.checkBufferWarning()
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.stop()
	log, _ := os.ReadFile(e.logPath)
	return fmt.Errorf("the edge did not log its addresses within 20 s:\n%s", log)
}

// readAddrs looks for the "edge listening" line in the edge's log.
func (e *edgeRun) readAddrs() bool {
	f, err := os.Open(e.logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct{ Msg, HTTPS, HTTP3 string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "edge listening" && line.HTTP3 != "" {
			e.https, e.http3 = line.HTTPS, line.HTTP3
			return true
		}
	}
	return false
}

// checkBufferWarning says on stderr when the edge warned of small UDP buffers (the numbers
// then include drops a tuned host would not have).
func (e *edgeRun) checkBufferWarning() error {
	log, err := os.ReadFile(e.logPath)
	if err == nil && strings.Contains(string(log), "UDP socket buffers") {
		fmt.Fprintln(os.Stderr, "h3 bench: the edge warned that the UDP buffers are small (see net.core.rmem_max)")
	}
	return err
}

func (e *edgeRun) stop() {
	if e.p != nil && !e.p.Exited() {
		children.Stop([]*children.Proc{e.p})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.origin.Shutdown(ctx)
}

// tlsConfig is what every client trusts and names.
func (e *edgeRun) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: e.pool, ServerName: domain}
}
