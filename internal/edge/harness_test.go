package edge

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/store"
)

// clock is a settable clock shared by the edge and the test origin (which sends its Date), so
// freshness can be tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testOrigin is a real HTTP server whose behaviour a test swaps at will and whose requests
// it counts and records.
type testOrigin struct {
	srv   *httptest.Server
	clock *clock
	hits  atomic.Int64
	mu    sync.Mutex
	h     http.HandlerFunc
	last  *http.Request
}

func newTestOrigin(t testing.TB, clk *clock, h http.HandlerFunc) *testOrigin {
	o := &testOrigin{clock: clk, h: h}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		h, req := o.h, r.Clone(context.Background())
		o.last = req
		o.mu.Unlock()
		w.Header().Set("Date", clk.Now().UTC().Format(http.TimeFormat))
		h(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOrigin) handle(h http.HandlerFunc) {
	o.mu.Lock()
	o.h = h
	o.mu.Unlock()
}

func (o *testOrigin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// harness is an edge on a real listener in front of a test origin.
type harness struct {
	t      testing.TB
	clock  *clock
	origin *testOrigin
	edge   *Server
	store  *store.Cache
	client *http.Client
	dir    string
	cfg    *config.Config
	doc    string // the configuration cfg was parsed from
}

type harnessOpt struct {
	domainYAML string // extra YAML under the domain (indented 4 spaces)
	cacheYAML  string // extra YAML under cache: (indented 2 spaces)
	diskDir    string // "" = memory only
	timeout    string // origin response_timeout; default 2s
	servers    string // more entries under origin.servers (indented 8 spaces)
	http1      string // server.http1: "" (default, native) or "stdlib"
	serverYAML string // more keys under server: (indented 2 spaces)
	names      string // the domain's name and aliases (YAML lines indented 4 spaces); default example.com, alias www.example.com
}

func newHarness(t testing.TB, h http.HandlerFunc, opt harnessOpt) *harness {
	t.Helper()
	clk := newClock()
	o := newTestOrigin(t, clk, h)
	hs := &harness{t: t, clock: clk, origin: o, dir: opt.diskDir}
	hs.start(opt)
	return hs
}

func (hs *harness) start(opt harnessOpt) {
	t := hs.t
	t.Helper()
	cache := "cache:\n  memory_size: 64MiB\n"
	if opt.diskDir != "" {
		cache += fmt.Sprintf("  dir: %q\n  disk_size: 512MiB\n  segment_size: 8MiB\n", opt.diskDir)
	}
	cache += opt.cacheYAML
	if loops := os.Getenv("PIXCDN_TEST_EVENT_LOOPS"); loops != "" && opt.http1 != config.HTTP1Stdlib && !strings.Contains(opt.serverYAML, "event_loops") {
		opt.serverYAML += "  event_loops: " + loops + "\n"
	}
	if opt.http1 != "" || opt.serverYAML != "" {
		cache += "server:\n" + opt.serverYAML
		if opt.http1 != "" {
			cache += "  http1: " + opt.http1 + "\n"
		}
	}
	names := cmp.Or(opt.names, "name: example.com\n    aliases: [\"www.example.com\"]\n")
	doc := fmt.Sprintf(`listen: "127.0.0.1:0"
%sdomains:
  - %s    origin:
      servers:
        - url: %q
%s      response_timeout: %s
%s`, cache, names, hs.origin.srv.URL, opt.servers, cmp.Or(opt.timeout, "2s"), opt.domainYAML)
	cfg, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	st, err := store.Open(store.Config{
		MemoryBytes: int64(cfg.Cache.MemorySize), MemoryObjectMax: int64(cfg.Cache.MemoryObjectMax),
		Dir: cfg.Cache.Dir, DiskBytes: int64(cfg.Cache.DiskSize), SegmentBytes: int64(cfg.Cache.SegmentSize),
		Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, st, Options{Logger: quietLogger(), Now: hs.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	hs.edge, hs.store, hs.cfg, hs.doc = e, st, cfg, doc
	// A connection that carried a miss stays on its goroutine: with PIXCDN_TEST_EVENT_LOOPS
	// set to a count, every request gets a connection of its own, so that every hit is one
	// a loop answers; "off" tests the goroutines alone.
	loops := os.Getenv("PIXCDN_TEST_EVENT_LOOPS")
	hs.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 300,
		DisableKeepAlives: loops != "" && loops != "off"}}
	t.Cleanup(hs.stop)
}

// stop shuts the edge down and closes its store (idempotent).
func (hs *harness) stop() {
	if hs.edge == nil {
		return
	}
	hs.edge.Shutdown(context.Background())
	hs.store.Close()
	hs.client.CloseIdleConnections()
	hs.edge = nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// result is a response with its body read.
type result struct {
	*http.Response
	body string
	err  error // error reading the body
}

func (r result) cacheStatus() string { return r.Header.Get("Cache-Status") }

// get sends a request to the edge for Host example.com; extra are "Name: value" header lines.
func (hs *harness) get(path string, extra ...string) result {
	return hs.do(http.MethodGet, path, nil, extra...)
}

func (hs *harness) do(method, path string, body io.Reader, extra ...string) result {
	hs.t.Helper()
	r := hs.try(method, path, body, extra...)
	if r.Response == nil {
		hs.t.Fatalf("%s %s: %v", method, path, r.err)
	}
	return r
}

// try is do for requests that may fail outright; result.Response is nil when they did.
func (hs *harness) try(method, path string, body io.Reader, extra ...string) result {
	req, err := http.NewRequest(method, "http://"+hs.edge.Addr()+path, body)
	if err != nil {
		hs.t.Fatal(err)
	}
	req.Host = "example.com"
	for _, line := range extra {
		k, v, _ := strings.Cut(line, ":")
		if strings.EqualFold(k, "Host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Add(k, strings.TrimSpace(v))
	}
	resp, err := hs.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return result{Response: resp, body: string(b), err: rerr}
}

// waitFor polls cond (state the test cannot be notified of, such as a background fill in the
// edge) until it holds, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// brokenBody answers with a Content-Length it does not honour and cuts the connection
// half way, like an origin that dies mid-response.
func brokenBody(w http.ResponseWriter, full int, sent string) {
	w.Header().Set("Content-Length", fmt.Sprint(full))
	w.Header().Set("Cache-Control", "max-age=600")
	w.WriteHeader(200)
	w.Write([]byte(sent))
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}
