package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/store"
)

// h3Edge is an edge with a TLS listener (and so HTTP/3) for three domains: on.example (HTTP/3
// on), off.example (http3: false) and deny.example (HTTP/3 on, every client IP denied), with
// clients for each protocol that reach it whatever host a URL names.
type h3Edge struct {
	t       *testing.T
	e       *Server
	origin  *testOrigin
	reg     *prometheus.Registry
	doc     string
	pool    *x509.CertPool
	h3, h2  *http.Client
	h1, raw *http.Client // HTTP/1.1 over TLS; plain HTTP/1.1
}

// h3Doc is the configuration of an h3Edge; serverYAML goes under server:, offYAML under the
// domain off.example.
func (he *h3Edge) h3Doc(dir, serverYAML, offYAML string) string {
	var certs [3][2]string
	for i, name := range []string{"on.example", "off.example", "deny.example"} {
		c, k, cert := selfSigned(he.t, dir, name)
		certs[i] = [2]string{c, k}
		he.pool.AddCert(cert)
	}
	o := he.origin.srv.URL
	return fmt.Sprintf(`listen: "127.0.0.1:0"
tls_listen: "127.0.0.1:0"
server:
  max_header_bytes: 16KiB
  max_url_bytes: 4KiB
  max_body_bytes: 1KiB
%sdomains:
  - name: on.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
  - name: off.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
%s  - name: deny.example
    tls: {cert: %q, key: %q}
    origin: {servers: [{url: %q}]}
    access:
      ip: {mode: deny, cidrs: [127.0.0.0/8]}
`, serverYAML, certs[0][0], certs[0][1], o, certs[1][0], certs[1][1], o, offYAML, certs[2][0], certs[2][1], o)
}

func newH3Edge(t *testing.T, serverYAML, offYAML string) *h3Edge {
	t.Helper()
	clk := newClock()
	he := &h3Edge{t: t, pool: x509.NewCertPool(), reg: prometheus.NewRegistry()}
	// The origin sends an Alt-Svc of its own, which must never reach clients of the edge.
	he.origin = newTestOrigin(t, clk, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Alt-Svc", `h3=":9999"; ma=60`)
		io.WriteString(w, "body of "+r.URL.Path)
	})
	he.doc = he.h3Doc(t.TempDir(), serverYAML, offYAML)
	cfg, err := config.Parse([]byte(he.doc), "h3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	he.e, err = New(cfg, st, Options{Logger: quietLogger(), Now: clk.Now, Metrics: metrics.New(he.reg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := he.e.Start(); err != nil {
		t.Fatal(err)
	}
	he.clients()
	t.Cleanup(func() {
		he.stop()
		st.Close()
	})
	return he
}

// clients builds one client per protocol, each bounded in time, dialling the edge's own
// listeners whatever host a URL names (so URLs carry the domain, and SNI with it).
func (he *h3Edge) clients() {
	tlsConf := &tls.Config{RootCAs: he.pool} // cloned for each: transports set NextProtos in it
	dialTo := func(addr string) func(context.Context, string, string) (net.Conn, error) {
		return func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
	}
	h3addr := he.e.H3Addr()
	he.h3 = &http.Client{Timeout: 10 * time.Second, Transport: &http3.Transport{
		TLSClientConfig: tlsConf.Clone(),
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, h3addr, tc, qc)
		},
	}}
	he.h2 = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: tlsConf.Clone(), ForceAttemptHTTP2: true, DialContext: dialTo(he.e.TLSAddr())}}
	he.h1 = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: tlsConf.Clone(), TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
		DialContext: dialTo(he.e.TLSAddr())}}
	he.raw = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialTo(he.e.Addr())}}
}

// stop shuts the edge down (idempotent) after the clients let go of their connections.
func (he *h3Edge) stop() {
	if he.e == nil {
		return
	}
	he.h3.Transport.(*http3.Transport).Close()
	for _, c := range []*http.Client{he.h2, he.h1, he.raw} {
		c.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := he.e.Shutdown(ctx); err != nil {
		he.t.Errorf("shutdown: %v", err)
	}
	he.e = nil
}

// do sends a request with c and reads the answer; extra are "Name: value" header lines.
func (he *h3Edge) do(c *http.Client, method, url string, body io.Reader, extra ...string) result {
	he.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		he.t.Fatal(err)
	}
	for _, line := range extra {
		k, v, _ := strings.Cut(line, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := c.Do(req)
	if err != nil {
		he.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{Response: resp, body: string(b), err: err}
}

func (he *h3Edge) get(c *http.Client, url string, extra ...string) result {
	he.t.Helper()
	return he.do(c, http.MethodGet, url, nil, extra...)
}

func TestHTTP3MissThenHitCountedAsH3(t *testing.T) {
	he := newH3Edge(t, "", "")
	miss := he.get(he.h3, "https://on.example/a.txt")
	if miss.ProtoMajor != 3 {
		t.Fatalf("answered over %s, want HTTP/3", miss.Proto)
	}
	expect(t, miss, 200, "body of /a.txt", "miss", "stored")
	hit := he.get(he.h3, "https://on.example/a.txt")
	expect(t, hit, 200, "body of /a.txt", "; hit")
	if he.origin.hits.Load() != 1 {
		t.Fatalf("origin asked %d times, want 1", he.origin.hits.Load())
	}
	if got := hit.Header.Get("Alt-Svc"); got != "" {
		t.Errorf("a response over HTTP/3 advertises %q", got)
	}
	he.get(he.h2, "https://on.example/a.txt")

	want := `
# HELP pixcdn_requests_by_protocol_total Requests answered, by configured domain and HTTP version (http1, h2, h3).
# TYPE pixcdn_requests_by_protocol_total counter
pixcdn_requests_by_protocol_total{domain="on.example",proto="h2"} 1
pixcdn_requests_by_protocol_total{domain="on.example",proto="h3"} 2
`
	if err := testutil.GatherAndCompare(he.reg, strings.NewReader(want), "pixcdn_requests_by_protocol_total"); err != nil {
		t.Fatal(err)
	}
}

func TestAltSvcAdvertisesTheBoundUDPPort(t *testing.T) {
	he := newH3Edge(t, "", "    http3: false\n")
	_, port, _ := net.SplitHostPort(he.e.H3Addr())
	want := `h3=":` + port + `"; ma=86400`
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		proto  int
		want   string
	}{
		{"h2", he.h2, "https://on.example/x", 2, want},
		{"http/1.1 over TLS", he.h1, "https://on.example/x", 1, want},
		{"plain http/1.1: browsers take Alt-Svc from https origins only", he.raw, "http://on.example/x", 1, ""},
		{"domain off, h2", he.h2, "https://off.example/x", 2, ""},
		{"domain off, http/1.1 over TLS", he.h1, "https://off.example/x", 1, ""},
		{"domain off, a client that remembered Alt-Svc comes over h3: answered, told to forget", he.h3, "https://off.example/x", 3, "clear"},
		{"refused requests advertise too", he.h2, "https://deny.example/x", 2, want},
	} {
		r := he.get(tc.client, tc.url)
		if r.ProtoMajor != tc.proto {
			t.Errorf("%s: answered over %s", tc.name, r.Proto)
		}
		if got := strings.Join(r.Header.Values("Alt-Svc"), ", "); got != tc.want {
			t.Errorf("%s: Alt-Svc %q, want %q", tc.name, got, tc.want)
		}
		if tc.url != "https://deny.example/x" && r.StatusCode != 200 {
			t.Errorf("%s: status %d", tc.name, r.StatusCode)
		}
	}
}

func TestHTTP3OffGloballyAndPerDomainOnReload(t *testing.T) {
	off := newH3Edge(t, "  http3: false\n", "")
	if off.e.H3Addr() != "" {
		t.Fatalf("server.http3 false still listens on %s", off.e.H3Addr())
	}
	if r := off.get(off.h2, "https://on.example/x"); r.Header.Get("Alt-Svc") != "" {
		t.Fatalf("server.http3 false still advertises %q", r.Header.Get("Alt-Svc"))
	}

	he := newH3Edge(t, "", "")
	if r := he.get(he.h2, "https://off.example/x"); r.Header.Get("Alt-Svc") == "" {
		t.Fatal("no Alt-Svc with http3 on")
	}
	doc := strings.Replace(he.doc, "  - name: deny.example", "    http3: false\n  - name: deny.example", 1)
	cfg, err := config.Parse([]byte(doc), "h3.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := he.e.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if r := he.get(he.h2, "https://off.example/x"); r.Header.Get("Alt-Svc") != "" {
		t.Fatalf("after a reload turned the domain off: Alt-Svc %q", r.Header.Get("Alt-Svc"))
	}
}

func TestHTTP3AccessRulesAndLimits(t *testing.T) {
	he := newH3Edge(t, "", "")
	r := he.get(he.h3, "https://deny.example/x")
	expect(t, r, 403, "pixcdn: Forbidden: ip\n", "detail=ip")
	if r.ProtoMajor != 3 {
		t.Fatalf("answered over %s", r.Proto)
	}

	// A header block above server.max_header_bytes (16KiB) is refused before the handler.
	r = he.get(he.h3, "https://on.example/big", "X-Big: "+strings.Repeat("a", 20<<10))
	if r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("oversized header over h3: %d", r.StatusCode)
	}
	// The edge's own limits hold as on TCP: the URL length and the passed-through body.
	r = he.get(he.h3, "https://on.example/"+strings.Repeat("u", 5<<10))
	if r.StatusCode != http.StatusRequestURITooLong {
		t.Fatalf("long URL over h3: %d", r.StatusCode)
	}
	r = he.do(he.h3, http.MethodPost, "https://on.example/post", strings.NewReader(strings.Repeat("b", 2<<10)))
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("large body over h3: %d", r.StatusCode)
	}
	if he.origin.hits.Load() != 0 {
		t.Fatalf("refused requests reached the origin %d times", he.origin.hits.Load())
	}
}

func TestShutdownClosesTheUDPSocket(t *testing.T) {
	he := newH3Edge(t, "", "")
	expect(t, he.get(he.h3, "https://on.example/x"), 200, "body of /x")
	addr, e := he.e.H3Addr(), he.e
	he.e = nil // stopped here, with the client's connection still open
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// GOAWAY makes the idle client close its connection, so the graceful stop completes.
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an HTTP/3 client connected: %v", err)
	}
	// The port is free again: the socket is closed, not just unused.
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", ua)
	if err != nil {
		t.Fatalf("after Shutdown, %s is still bound: %v", addr, err)
	}
	c.Close()
	he.h3.Transport.(*http3.Transport).Close()
}

func TestSmallUDPBuffersLogOneWarning(t *testing.T) {
	he := newH3Edge(t, "", "")
	var logs bytes.Buffer
	conn := he.e.servers[slices.IndexFunc(he.e.servers, func(s stoppable) bool { _, ok := s.(*h3Server); return ok })].(*h3Server).conn
	logged := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	logged.warnUDPBuffers(conn, 1<<40) // the edge's socket, and more than any kernel gives
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "net.core.rmem_max") {
		t.Fatalf("%d warnings, want one naming the sysctl:\n%s", n, logs.String())
	}
}

func TestUDPBufferProblem(t *testing.T) {
	for _, tc := range []struct {
		rcv, snd int
		warn     bool
	}{
		{7 << 20, 7 << 20, false},
		{16 << 20, 8 << 20, false},
		{416 << 10, 416 << 10, true}, // the common 208 KiB cap, reported doubled
		{8 << 20, 416 << 10, true},
		{416 << 10, 8 << 20, true},
	} {
		if got := udpBufferProblem(tc.rcv, tc.snd, udpBufferWant) != ""; got != tc.warn {
			t.Errorf("rcv %d snd %d: warn %v, want %v", tc.rcv, tc.snd, got, tc.warn)
		}
	}
}
