package origin

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a real HTTP server whose behaviour a test switches at run time.
type backend struct {
	*httptest.Server
	name   string
	hits   atomic.Int64
	status atomic.Int64 // answer with this status when non-zero
	block  atomic.Bool  // hold requests until release is closed (or the client goes away)
	// entered receives a value whenever a blocked request arrives.
	entered chan struct{}
	release chan struct{}
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, entered: make(chan struct{}, 100), release: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(func() {
		b.unblock()
		b.Close()
	})
	return b
}

func (b *backend) unblock() {
	select {
	case <-b.release:
	default:
		close(b.release)
	}
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	if b.block.Load() {
		b.entered <- struct{}{}
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
	}
	if st := b.status.Load(); st != 0 {
		w.WriteHeader(int(st))
		fmt.Fprintf(w, "%s says %d", b.name, st)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %s %s", b.name, r.Method, r.URL.RequestURI(), body)
}

// deadURL is the address of a server that was started and closed: connections are refused.
func deadURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

// clock is an injectable, manually advanced time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newHTTPOrigin(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestHTTPPassesRequestThrough(t *testing.T) {
	var seen http.Header
	var seenHost, seenURI string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, seenHost, seenURI = r.Header.Clone(), r.Host, r.URL.RequestURI()
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: srv.URL + "/base/"}}})
	req := httptest.NewRequest("GET", "http://client.example/img/a%20b.jpg?w=300&fm=webp", nil)
	req.Header.Set("Accept", "image/avif")
	req.Header.Set("Accept-Encoding", "br")
	req.Header.Set("X-Forwarded-For", "192.0.2.1")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "gone")
	req.Header.Set("Keep-Alive", "timeout=5")
	before := req.Header.Clone()
	resp, _, err := do(t, h, req)
	mustStatus(t, resp, err, http.StatusFound) // redirects are the response, never followed
	if resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("Location = %q", resp.Header.Get("Location"))
	}
	if seenURI != "/base/img/a%20b.jpg?w=300&fm=webp" || seenHost != "client.example" {
		t.Errorf("origin saw %q Host %q", seenURI, seenHost)
	}
	for name, want := range map[string]string{"Accept": "image/avif", "Accept-Encoding": "br",
		"X-Forwarded-For": "192.0.2.1", "X-Hop": "", "Keep-Alive": "", "User-Agent": ""} {
		if got := seen.Get(name); got != want {
			t.Errorf("origin saw %s = %q, want %q", name, got, want)
		}
	}
	if len(seen.Values("X-Forwarded-For")) != 1 {
		t.Errorf("X-Forwarded-For added to: %q", seen.Values("X-Forwarded-For"))
	}
	if !slices.Equal(before["X-Hop"], req.Header["X-Hop"]) || req.URL.Path != "/img/a b.jpg" || req.Host != "client.example" {
		t.Errorf("Fetch modified the request")
	}
}

func TestHTTPFailover(t *testing.T) {
	tests := []struct {
		name     string
		breakIt  func(b *backend) string // returns the primary's URL
		cfg      HTTPConfig
		wantKind Kind
	}{
		{"connect refused", func(b *backend) string { return deadURL(t) }, HTTPConfig{}, KindUnavailable},
		{"503", func(b *backend) string { b.status.Store(503); return b.URL },
			HTTPConfig{FailoverStatuses: []int{502, 503, 504}}, KindUnavailable},
		{"response timeout", func(b *backend) string { b.block.Store(true); return b.URL },
			HTTPConfig{ResponseTimeout: 50 * time.Millisecond}, KindTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, backup := newBackend(t, "primary"), newBackend(t, "backup")
			cfg := tt.cfg
			cfg.Servers = []Server{{URL: tt.breakIt(primary)}, {URL: backup.URL, Priority: 1}}
			h := newHTTPOrigin(t, cfg)
			resp, body, err := get(t, h, "GET", "/x")
			mustStatus(t, resp, err, 200)
			if !strings.HasPrefix(string(body), "backup GET /x") {
				t.Fatalf("body %q, want the backup's", body)
			}
			// Without a backup the same failure is an error of the expected kind.
			cfg.Servers = cfg.Servers[:1]
			_, _, err = get(t, newHTTPOrigin(t, cfg), "GET", "/x")
			mustKind(t, err, tt.wantKind)
		})
	}
}

func TestHTTPBackupOnlyWhenPrimariesFail(t *testing.T) {
	p1, p2, backup := newBackend(t, "p1"), newBackend(t, "p2"), newBackend(t, "backup")
	h := newHTTPOrigin(t, HTTPConfig{
		Servers:          []Server{{URL: backup.URL, Priority: 1}, {URL: p1.URL}, {URL: p2.URL}},
		FailoverStatuses: []int{503},
		FailThreshold:    100,
	})
	for range 10 {
		resp, _, err := get(t, h, "GET", "/")
		mustStatus(t, resp, err, 200)
	}
	if p1.hits.Load() != 5 || p2.hits.Load() != 5 || backup.hits.Load() != 0 {
		t.Fatalf("hits p1=%d p2=%d backup=%d, want 5 5 0", p1.hits.Load(), p2.hits.Load(), backup.hits.Load())
	}
	p1.status.Store(503)
	resp, body, err := get(t, h, "GET", "/")
	mustStatus(t, resp, err, 200)
	if !strings.HasPrefix(string(body), "p2") {
		t.Fatalf("failed over to %q, want the other primary first", body)
	}
	p2.status.Store(503)
	resp, body, err = get(t, h, "GET", "/")
	mustStatus(t, resp, err, 200)
	if !strings.HasPrefix(string(body), "backup") {
		t.Fatalf("body %q, want backup", body)
	}
	backup.status.Store(503)
	before := p1.hits.Load() + p2.hits.Load() + backup.hits.Load()
	_, _, err = get(t, h, "GET", "/")
	mustKind(t, err, KindUnavailable)
	if n := p1.hits.Load() + p2.hits.Load() + backup.hits.Load() - before; n != 3 {
		t.Fatalf("all-failed request reached %d servers, want each once (3)", n)
	}
}

func TestHTTPSmoothWeightedRoundRobin(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: a.URL, Weight: 5}, {URL: b.URL}, {URL: c.URL, Weight: 1}}})
	var order []string
	for range 7 {
		_, body, err := get(t, h, "GET", "/")
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, string(body[:1]))
	}
	if got := strings.Join(order, ""); got != "aabacaa" {
		t.Fatalf("order %q, want nginx's smooth sequence aabacaa", got)
	}
	for range 693 {
		if _, _, err := get(t, h, "GET", "/"); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 500 || b.hits.Load() != 100 || c.hits.Load() != 100 {
		t.Fatalf("700 requests split %d/%d/%d, want 500/100/100", a.hits.Load(), b.hits.Load(), c.hits.Load())
	}
}

func TestHTTPPassiveHealth(t *testing.T) {
	primary, backup := newBackend(t, "primary"), newBackend(t, "backup")
	clk := newClock()
	h := newHTTPOrigin(t, HTTPConfig{
		Servers:          []Server{{URL: primary.URL}, {URL: backup.URL, Priority: 1}},
		FailoverStatuses: []int{503}, FailThreshold: 2, FailCooldown: 10 * time.Second, Now: clk.Now,
	})
	fetchOK := func() string {
		t.Helper()
		resp, body, err := get(t, h, "GET", "/")
		mustStatus(t, resp, err, 200)
		return strings.Fields(string(body))[0]
	}
	primary.status.Store(503)
	fetchOK()
	fetchOK()
	if hs := h.Health()[0]; hs.Up || hs.ConsecutiveFailures != 2 || !strings.Contains(hs.LastError, "503") {
		t.Fatalf("after 2 failures: %+v", hs)
	}
	fetchOK()
	clk.Advance(9 * time.Second)
	fetchOK()
	if n := primary.hits.Load(); n != 2 {
		t.Fatalf("primary hit %d times while down, want 2 (skipped)", n)
	}
	clk.Advance(time.Second) // cooldown over: one trial, which fails again
	fetchOK()
	fetchOK()
	if n := primary.hits.Load(); n != 3 {
		t.Fatalf("primary hits %d, want 3 (one trial)", n)
	}
	primary.status.Store(0)
	clk.Advance(10 * time.Second)
	if got := fetchOK(); got != "primary" {
		t.Fatalf("trial answered by %s", got)
	}
	if got := fetchOK(); got != "primary" || !h.Health()[0].Up {
		t.Fatalf("after a good trial: served by %s, health %+v", got, h.Health()[0])
	}
}

func TestHTTPOneTrialAtATime(t *testing.T) {
	primary, backup := newBackend(t, "primary"), newBackend(t, "backup")
	clk := newClock()
	h := newHTTPOrigin(t, HTTPConfig{
		Servers:          []Server{{URL: primary.URL}, {URL: backup.URL, Priority: 1}},
		FailoverStatuses: []int{503}, FailThreshold: 1, Now: clk.Now,
	})
	primary.status.Store(503)
	get(t, h, "GET", "/")
	primary.status.Store(0)
	primary.block.Store(true)
	clk.Advance(DefaultFailCooldown)
	done := make(chan string)
	go func() {
		resp, err := h.Fetch(httptest.NewRequest("GET", "/trial", nil))
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-primary.entered // the trial is in flight
	_, body, err := get(t, h, "GET", "/other")
	if err != nil || !strings.HasPrefix(string(body), "backup") {
		t.Fatalf("during the trial: %q %v, want backup", body, err)
	}
	primary.unblock()
	if got := <-done; !strings.HasPrefix(got, "primary") {
		t.Fatalf("trial got %q", got)
	}
}

func TestHTTPBrokenBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(200)
		w.Write(bytes.Repeat([]byte("x"), 1000))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: srv.URL}}, FailThreshold: 1})
	resp, body, err := get(t, h, "GET", "/")
	if err == nil || resp == nil {
		t.Fatalf("reading a body cut mid-way: err %v after %d bytes, want an error", err, len(body))
	}
	if h.Health()[0].Up {
		t.Fatalf("a broken body did not count as a failure: %+v", h.Health()[0])
	}
}

func TestHTTPNonIdempotent(t *testing.T) {
	t.Run("dial failure with GetBody is retried", func(t *testing.T) {
		backup := newBackend(t, "backup")
		h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: deadURL(t)}, {URL: backup.URL, Priority: 1}}})
		req := httptest.NewRequest("POST", "/form", strings.NewReader("a=1"))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("a=1")), nil }
		resp, body, err := do(t, h, req)
		mustStatus(t, resp, err, 200)
		if string(body) != "backup POST /form a=1" {
			t.Fatalf("body %q", body)
		}
	})
	t.Run("dial failure without GetBody is not", func(t *testing.T) {
		backup := newBackend(t, "backup")
		h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: deadURL(t)}, {URL: backup.URL, Priority: 1}}})
		req := httptest.NewRequest("POST", "/form", io.NopCloser(strings.NewReader("a=1")))
		req.GetBody = nil
		_, _, err := do(t, h, req)
		mustKind(t, err, KindUnavailable)
		if backup.hits.Load() != 0 {
			t.Fatal("retried a body it could not replay")
		}
	})
	t.Run("timeout after sending is not", func(t *testing.T) {
		primary, backup := newBackend(t, "primary"), newBackend(t, "backup")
		primary.block.Store(true)
		h := newHTTPOrigin(t, HTTPConfig{ResponseTimeout: 50 * time.Millisecond,
			Servers: []Server{{URL: primary.URL}, {URL: backup.URL, Priority: 1}}})
		_, _, err := get(t, h, "POST", "/form")
		mustKind(t, err, KindTimeout)
		if backup.hits.Load() != 0 {
			t.Fatal("POST retried after the server received it")
		}
	})
	t.Run("failover status is the answer", func(t *testing.T) {
		primary, backup := newBackend(t, "primary"), newBackend(t, "backup")
		primary.status.Store(503)
		h := newHTTPOrigin(t, HTTPConfig{FailoverStatuses: []int{503},
			Servers: []Server{{URL: primary.URL}, {URL: backup.URL, Priority: 1}}})
		resp, _, err := get(t, h, "POST", "/form")
		mustStatus(t, resp, err, 503)
		if backup.hits.Load() != 0 {
			t.Fatal("POST failed over after a 503")
		}
	})
}

// tlsBackend records the SNI of every handshake and the Host of every request.
type tlsBackend struct {
	*httptest.Server
	mu          sync.Mutex
	sni, hosts  []string
	protoMajors []int
}

func newTLSBackend(t *testing.T) *tlsBackend {
	b := &tlsBackend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hosts = append(b.hosts, r.Host)
		b.protoMajors = append(b.protoMajors, r.ProtoMajor)
		b.mu.Unlock()
		io.WriteString(w, "tls ok")
	}))
	b.EnableHTTP2 = true
	b.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	b.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		b.mu.Lock()
		b.sni = append(b.sni, hello.ServerName)
		b.mu.Unlock()
		return nil, nil
	}}
	b.StartTLS()
	t.Cleanup(b.Close)
	return b
}

func (b *tlsBackend) seen() (sni, hosts []string, protos []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sni), slices.Clone(b.hosts), slices.Clone(b.protoMajors)
}

func TestHTTPHostAndSNI(t *testing.T) {
	tests := []struct {
		name         string
		server       Server
		cfgHost      string
		clientHosts  []string
		wantHosts    []string
		wantSNI      []string
		insecureSkip bool
	}{
		{"client host", Server{}, "", []string{"a.example", "b.example:8443", "a.example"},
			[]string{"a.example", "b.example:8443", "a.example"}, []string{"a.example", "b.example"}, true},
		{"config host", Server{}, "cfg.example", []string{"a.example"}, []string{"cfg.example"}, []string{"cfg.example"}, true},
		{"server host", Server{Host: "srv.example"}, "cfg.example", []string{"a.example"}, []string{"srv.example"}, []string{"srv.example"}, true},
		{"server sni", Server{Host: "srv.example", SNI: "tls.example"}, "", []string{"a.example", "b.example"},
			[]string{"srv.example", "srv.example"}, []string{"tls.example"}, true},
		{"host unfit for sni", Server{}, "", []string{"a!b.example"}, []string{"a!b.example"}, []string{""}, true},
		// httptest's certificate is valid for example.com: verification passes with that SNI only.
		{"verified", Server{SNI: "example.com"}, "", []string{"a.example"}, []string{"a.example"}, []string{"example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTLSBackend(t)
			s := tt.server
			s.URL, s.InsecureSkipVerify = b.URL, tt.insecureSkip
			h := newHTTPOrigin(t, HTTPConfig{Host: tt.cfgHost, Servers: []Server{s}})
			if !tt.insecureSkip {
				h.servers[0].transport.TLSClientConfig.RootCAs = b.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
			}
			for _, host := range tt.clientHosts {
				req := httptest.NewRequest("GET", "/", nil)
				req.Host = host
				resp, body, err := do(t, h, req)
				mustStatus(t, resp, err, 200)
				if string(body) != "tls ok" {
					t.Fatalf("body %q", body)
				}
			}
			sni, hosts, protos := b.seen()
			if !slices.Equal(hosts, tt.wantHosts) || !slices.Equal(sni, tt.wantSNI) {
				t.Fatalf("hosts %q sni %q, want %q %q", hosts, sni, tt.wantHosts, tt.wantSNI)
			}
			for _, p := range protos {
				if p != 2 {
					t.Fatalf("HTTP/%d to an https origin, want HTTP/2", p)
				}
			}
		})
	}
}

func TestHTTPInvalidHostIsBadRequest(t *testing.T) {
	b := newBackend(t, "b")
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: b.URL}}, FailThreshold: 1})
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "evil/host"
	_, _, err := do(t, h, req)
	mustKind(t, err, KindBadRequest)
	if b.hits.Load() != 0 || !h.Health()[0].Up {
		t.Fatalf("bad Host reached the server or hurt its health: %+v", h.Health()[0])
	}
}

func TestHTTPUnverifiedCertificateFails(t *testing.T) {
	b := newTLSBackend(t)
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: b.URL, SNI: "example.com"}}})
	_, _, err := get(t, h, "GET", "/")
	mustKind(t, err, KindUnavailable)
}

func TestHTTPClientCancelIsNotAServerFailure(t *testing.T) {
	b := newBackend(t, "slow")
	b.block.Store(true)
	h := newHTTPOrigin(t, HTTPConfig{Servers: []Server{{URL: b.URL}}, FailThreshold: 1})
	req := httptest.NewRequest("GET", "/", nil)
	ctx, cancel := contextWithCancel(req)
	go func() {
		<-b.entered
		cancel()
	}()
	_, err := h.Fetch(req.WithContext(ctx))
	mustKind(t, err, KindUnavailable)
	if hs := h.Health()[0]; !hs.Up || hs.ConsecutiveFailures != 0 {
		t.Fatalf("client cancel counted against the server: %+v", hs)
	}
}

func TestHTTPConfigValidate(t *testing.T) {
	bad := []HTTPConfig{
		{},
		{Servers: []Server{{URL: "ftp://x"}}},
		{Servers: []Server{{URL: "http://"}}},
		{Servers: []Server{{URL: "http://x?q=1"}}},
		{Servers: []Server{{URL: "http://x", Weight: -1}}},
		{Servers: []Server{{URL: "http://x"}}, ConnectTimeout: -1},
		{Servers: []Server{{URL: "http://x"}}, FailoverStatuses: []int{1000}},
		{Servers: slices.Repeat([]Server{{URL: "http://x"}}, MaxServers+1)},
	}
	for i, cfg := range bad {
		if _, err := NewHTTP(cfg); err == nil {
			t.Errorf("config %d accepted: %+v", i, cfg)
		}
	}
}

// TestHeaderLimit: a response header block over MaxHeaderBytes fails with ErrHeaderTooLarge
// (which depends on net/http's wording of its own error).
func TestHeaderLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("b", 8<<10))
	}))
	defer srv.Close()
	o, err := NewHTTP(HTTPConfig{Servers: []Server{{URL: srv.URL}}, MaxHeaderBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.URL = &url.URL{Path: "/"}
	_, err = o.Fetch(req)
	if !errors.Is(err, ErrHeaderTooLarge) || KindOf(err) != KindUnavailable {
		t.Fatalf("err %v, want ErrHeaderTooLarge", err)
	}
}
