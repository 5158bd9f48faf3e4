package edge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func static(body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, h := range headers {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, strings.TrimSpace(v))
		}
		w.Write([]byte(body))
	}
}

func expect(t *testing.T, r result, status int, body string, csContains ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d (Cache-Status %q, body %q)", r.StatusCode, status, r.cacheStatus(), r.body)
	}
	if body != "" && r.body != body {
		t.Fatalf("body %q, want %q", r.body, body)
	}
	for _, c := range csContains {
		if !strings.Contains(r.cacheStatus(), c) {
			t.Fatalf("Cache-Status %q lacks %q", r.cacheStatus(), c)
		}
	}
}

func TestMissThenHit(t *testing.T) {
	hs := newHarness(t, static("hello", "Cache-Control: max-age=60", "Content-Type: text/plain"), harnessOpt{})
	r := hs.get("/a.txt")
	expect(t, r, 200, "hello", "fwd=uri-miss", "fwd-status=200", "stored", "ttl=60")
	r = hs.get("/a.txt")
	expect(t, r, 200, "hello", "pixcdn; hit", "ttl=60")
	if got := hs.origin.hits.Load(); got != 1 {
		t.Fatalf("origin hits = %d, want 1", got)
	}
	if r.Header.Get("Age") != "0" || !strings.Contains(r.Header.Get("Via"), "pixcdn") || r.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("headers: %v", r.Header)
	}
	hs.clock.Advance(30 * time.Second)
	r = hs.get("/a.txt", "Host: www.example.com:80") // an alias shares the domain's cache
	expect(t, r, 200, "hello", "hit", "ttl=30")
	if r.Header.Get("Age") != "30" {
		t.Fatalf("Age %q, want 30", r.Header.Get("Age"))
	}
}

func TestOriginRequestHeaders(t *testing.T) {
	hs := newHarness(t, static("x", "Cache-Control: max-age=60"), harnessOpt{})
	hs.get("/p?q=1", "X-Forwarded-For: 203.0.113.9", "Connection: X-Private", "X-Private: secret", "If-None-Match: \"zzz\"")
	req := hs.origin.lastRequest()
	if xff := req.Header.Get("X-Forwarded-For"); xff != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", xff)
	}
	if req.Header.Get("X-Forwarded-Proto") != "http" || !strings.Contains(req.Header.Get("Via"), "1.1 pixcdn") {
		t.Errorf("proxy headers: %v", req.Header)
	}
	if req.Header.Get("X-Private") != "" || req.Header.Get("If-None-Match") != "" {
		t.Errorf("hop-by-hop or client conditional forwarded on a fill: %v", req.Header)
	}
	if req.URL.RawQuery != "q=1" || req.Host != "example.com" {
		t.Errorf("origin saw %s %s", req.Host, req.URL)
	}
}

func TestResponseHopByHopRemoved(t *testing.T) {
	hs := newHarness(t, static("x", "Cache-Control: max-age=60", "Connection: X-Hop", "X-Hop: 1", "Keep-Alive: timeout=5", "X-Keep: yes"), harnessOpt{})
	for i := 0; i < 2; i++ {
		r := hs.get("/h")
		if r.Header.Get("X-Hop") != "" || r.Header.Get("Keep-Alive") != "" || r.Header.Get("X-Keep") != "yes" {
			t.Fatalf("response headers %v", r.Header)
		}
	}
}

func TestUnknownHostAndLongURL(t *testing.T) {
	hs := newHarness(t, static("x"), harnessOpt{})
	r := hs.get("/", "Host: other.example.net")
	expect(t, r, http.StatusMisdirectedRequest, "", "detail=unknown-host")
	r = hs.get("/" + strings.Repeat("a", 9000))
	expect(t, r, http.StatusRequestURITooLong, "")
	if hs.origin.hits.Load() != 0 {
		t.Fatal("a rejected request reached the origin")
	}
}

func TestCoalescing(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("shared body"))
	}, harnessOpt{})
	const n = 100
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = hs.get("/herd")
		}()
	}
	waitFor(t, "all clients to wait on the fill", func() bool { return hs.edge.cache.Stats.Coalesced.Load() == n-1 })
	close(release)
	wg.Wait()
	if got := hs.origin.hits.Load(); got != 1 {
		t.Fatalf("origin hits = %d, want 1", got)
	}
	collapsed := 0
	for _, r := range results {
		expect(t, r, 200, "shared body", "fwd=uri-miss")
		if strings.Contains(r.cacheStatus(), "collapsed") {
			collapsed++
		}
	}
	if collapsed != n-1 {
		t.Fatalf("%d responses say collapsed, want %d", collapsed, n-1)
	}
}

func TestCoalescedErrorReachesWaiters(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		brokenBody(w, 100, "half")
	}, harnessOpt{})
	var wg sync.WaitGroup
	results := make([]result, 20)
	for i := range results {
		wg.Add(1)
		go func() { defer wg.Done(); results[i] = hs.get("/broken") }()
	}
	waitFor(t, "waiters", func() bool { return hs.edge.cache.Stats.Coalesced.Load() == 19 })
	close(release)
	wg.Wait()
	for _, r := range results {
		expect(t, r, http.StatusBadGateway, "")
	}
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
}

func TestHalfBodyNotStored(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) { brokenBody(w, 1000, "only part") }, harnessOpt{})
	r := hs.get("/cut")
	expect(t, r, http.StatusBadGateway, "")
	hs.origin.handle(static("complete", "Cache-Control: max-age=60"))
	expect(t, hs.get("/cut"), 200, "complete", "fwd=uri-miss", "stored")
	expect(t, hs.get("/cut"), 200, "complete", "hit")
}

func TestStaleWhenOriginDown(t *testing.T) {
	hs := newHarness(t, static("v1", "Cache-Control: max-age=60"), harnessOpt{})
	expect(t, hs.get("/s"), 200, "v1", "stored")
	hs.clock.Advance(2 * time.Minute)
	hs.origin.srv.Close() // the origin dies
	r := hs.get("/s")
	expect(t, r, 200, "v1", "fwd=stale", "detail=origin-error", "ttl=-60")
	hs.clock.Advance(25 * time.Hour) // beyond the default 24 h window
	expect(t, hs.get("/s"), http.StatusBadGateway, "", "detail=origin-unavailable")
}

func TestMustRevalidateNeverStale(t *testing.T) {
	hs := newHarness(t, static("v1", "Cache-Control: max-age=60, must-revalidate"), harnessOpt{})
	hs.get("/m")
	hs.clock.Advance(2 * time.Minute)
	hs.origin.srv.Close()
	expect(t, hs.get("/m"), http.StatusBadGateway, "")
}

func TestStaleIfError(t *testing.T) {
	hs := newHarness(t, static("v1", "Cache-Control: max-age=10, stale-if-error=60"), harnessOpt{
		domainYAML: "    cache:\n      stale_if_origin_down: 0s\n",
	})
	hs.get("/e")
	hs.origin.handle(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 503) })
	hs.clock.Advance(30 * time.Second)
	expect(t, hs.get("/e"), 200, "v1", "fwd=stale", "fwd-status=503")
	hs.clock.Advance(60 * time.Second)
	expect(t, hs.get("/e"), 503, "", "fwd-status=503")
}

func TestRevalidationUpdatesHeaders(t *testing.T) {
	hs := newHarness(t, static("body", "Cache-Control: max-age=10", `ETag: "v1"`, "X-Gen: 1"), harnessOpt{})
	hs.get("/r")
	hs.origin.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != `"v1"` {
			t.Errorf("revalidation without If-None-Match: %v", r.Header)
		}
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("X-Gen", "2")
		w.WriteHeader(http.StatusNotModified)
	})
	hs.clock.Advance(20 * time.Second)
	r := hs.get("/r")
	expect(t, r, 200, "body", "fwd=stale", "fwd-status=304", "ttl=100")
	if r.Header.Get("X-Gen") != "2" {
		t.Fatalf("header not updated from 304: %v", r.Header)
	}
	r = hs.get("/r")
	expect(t, r, 200, "body", "hit", "ttl=100")
	if r.Header.Get("X-Gen") != "2" || hs.origin.hits.Load() != 2 {
		t.Fatalf("X-Gen %q, origin hits %d", r.Header.Get("X-Gen"), hs.origin.hits.Load())
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	hs := newHarness(t, static("old", "Cache-Control: max-age=10, stale-while-revalidate=60"), harnessOpt{})
	hs.get("/swr")
	hs.origin.handle(static("new", "Cache-Control: max-age=10, stale-while-revalidate=60"))
	hs.clock.Advance(15 * time.Second)
	expect(t, hs.get("/swr"), 200, "old", "hit", "detail=stale-while-revalidate")
	waitFor(t, "background revalidation", func() bool {
		r := hs.get("/swr")
		return r.body == "new" && strings.Contains(r.cacheStatus(), "hit")
	})
	if got := hs.origin.hits.Load(); got != 2 {
		t.Fatalf("origin hits %d, want 2", got)
	}
}

func TestVaryVariants(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "lang=%s", r.Header.Get("Accept-Language"))
	}, harnessOpt{})
	expect(t, hs.get("/v", "Accept-Language: en"), 200, "lang=en", "fwd=uri-miss")
	expect(t, hs.get("/v", "Accept-Language: de"), 200, "lang=de", "fwd=vary-miss")
	expect(t, hs.get("/v", "Accept-Language: en"), 200, "lang=en", "hit")
	expect(t, hs.get("/v", "Accept-Language: de"), 200, "lang=de", "hit")
	expect(t, hs.get("/v"), 200, "lang=", "fwd=vary-miss")
	if hs.origin.hits.Load() != 3 {
		t.Fatalf("origin hits %d, want 3", hs.origin.hits.Load())
	}
}

func TestConditionalAndRange(t *testing.T) {
	body := "0123456789abcdefghij"
	hs := newHarness(t, static(body, "Cache-Control: max-age=60", `ETag: "e1"`, "Last-Modified: Mon, 02 Jan 2006 15:04:05 GMT"), harnessOpt{})
	// A range on a miss: the edge fetches the whole object and answers the range.
	r := hs.get("/c", "Range: bytes=2-5")
	expect(t, r, 206, "2345")
	if r.Header.Get("Content-Range") != "bytes 2-5/20" {
		t.Fatalf("Content-Range %q", r.Header.Get("Content-Range"))
	}
	if req := hs.origin.lastRequest(); req.Header.Get("Range") != "" {
		t.Fatal("range forwarded to the origin on a fill")
	}
	expect(t, hs.get("/c", "Range: bytes=-3"), 206, "hij", "hit")
	expect(t, hs.get("/c", "Range: bytes=30-"), 416, "")
	expect(t, hs.get("/c", `If-None-Match: "e1"`), 304, "")
	expect(t, hs.get("/c", `If-None-Match: "other"`), 200, body)
	expect(t, hs.get("/c", "If-Modified-Since: Mon, 02 Jan 2006 15:04:05 GMT"), 304, "")
	expect(t, hs.get("/c", `If-Match: "nope"`), 412, "")
	expect(t, hs.get("/c", "Range: bytes=0-1", `If-Range: "stale"`), 200, body)
	head := hs.do(http.MethodHead, "/c", nil)
	if head.StatusCode != 200 || head.body != "" || head.ContentLength != 20 {
		t.Fatalf("HEAD: %d %q %d", head.StatusCode, head.body, head.ContentLength)
	}
	if hs.origin.hits.Load() != 1 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
}

func TestNotStorable(t *testing.T) {
	for _, h := range [][]string{
		{"Cache-Control: no-store"},
		{"Cache-Control: private, max-age=60"},
		{"Cache-Control: max-age=60", "Set-Cookie: a=b"},
		{"Cache-Control: max-age=60", "Vary: *"},
	} {
		t.Run(h[0]+" "+strings.Join(h[1:], " "), func(t *testing.T) {
			hs := newHarness(t, static("x", h...), harnessOpt{})
			for i := 0; i < 3; i++ {
				r := hs.get("/n")
				expect(t, r, 200, "x")
				if strings.Contains(r.cacheStatus(), "stored") || strings.Contains(r.cacheStatus(), "hit") {
					t.Fatalf("cached: %s", r.cacheStatus())
				}
			}
			if hs.origin.hits.Load() != 3 {
				t.Fatalf("origin hits %d, want 3", hs.origin.hits.Load())
			}
		})
	}
}

func TestNoCacheRevalidatesEveryTime(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"n1"`)
		if r.Header.Get("If-None-Match") == `"n1"` {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("nc"))
	}, harnessOpt{})
	expect(t, hs.get("/nc"), 200, "nc", "stored")
	expect(t, hs.get("/nc"), 200, "nc", "fwd=stale", "fwd-status=304")
	if hs.origin.hits.Load() != 2 {
		t.Fatalf("origin hits %d", hs.origin.hits.Load())
	}
}

func TestCDNCacheControlWins(t *testing.T) {
	hs := newHarness(t, static("c", "Cache-Control: no-cache", "CDN-Cache-Control: max-age=300"), harnessOpt{})
	hs.get("/cdn")
	r := hs.get("/cdn")
	expect(t, r, 200, "c", "hit", "ttl=300")
	if r.Header.Get("Cache-Control") != "no-cache" {
		t.Fatal("Cache-Control for browsers must pass through")
	}
}

func TestHeuristicFreshness(t *testing.T) {
	hs := newHarness(t, nil, harnessOpt{})
	lm := hs.clock.Now().Add(-1000 * time.Second).UTC().Format(http.TimeFormat)
	hs.origin.handle(static("h", "Last-Modified: "+lm))
	expect(t, hs.get("/heur"), 200, "h", "stored", "ttl=100") // 10 % of 1000 s
}

func TestCacheRulesAndStatusTTL(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "max-age=5")
		w.Write([]byte(r.URL.Path))
	}, harnessOpt{domainYAML: `    cache:
      status_ttl: {404: 10s}
      rules:
        - extensions: [".css"]
          ttl: 1h
        - prefix: /static/
          ttl: 2h
          priority: 10
        - prefix: /api/
          bypass: true
`})
	expect(t, hs.get("/a.css"), 200, "/a.css", "ttl=3600")
	expect(t, hs.get("/static/b.css"), 200, "/static/b.css", "ttl=7200")
	expect(t, hs.get("/plain"), 200, "/plain", "ttl=5")
	expect(t, hs.get("/missing"), 404, "", "stored", "ttl=10")
	expect(t, hs.get("/missing"), 404, "", "hit")
	expect(t, hs.get("/api/x"), 200, "/api/x", "fwd=bypass")
	expect(t, hs.get("/api/x"), 200, "/api/x", "fwd=bypass")
}

func TestQueryKeyModes(t *testing.T) {
	counter := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(r.URL.RawQuery))
	}
	hs := newHarness(t, counter, harnessOpt{domainYAML: "    cache:\n      query: {mode: keep, params: [v]}\n"})
	expect(t, hs.get("/q?v=1&utm=a"), 200, "v=1&utm=a", "uri-miss")
	expect(t, hs.get("/q?utm=b&v=1"), 200, "v=1&utm=a", "hit")
	expect(t, hs.get("/q?v=2"), 200, "v=2", "uri-miss")

	hs = newHarness(t, counter, harnessOpt{domainYAML: "    cache:\n      query: {mode: drop_all}\n"})
	hs.get("/d?a=1")
	expect(t, hs.get("/d?a=2"), 200, "a=1", "hit")
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	hs := newHarness(t, static("v1", "Cache-Control: max-age=600"), harnessOpt{})
	hs.get("/doc")
	expect(t, hs.get("/doc"), 200, "v1", "hit")
	hs.origin.handle(static("v2", "Cache-Control: max-age=600"))
	r := hs.do(http.MethodPost, "/doc", strings.NewReader("update"))
	expect(t, r, 200, "v2", "fwd=method")
	if req := hs.origin.lastRequest(); req.Method != http.MethodPost {
		t.Fatalf("origin saw %s", req.Method)
	}
	expect(t, hs.get("/doc"), 200, "v2", "uri-miss")
}

func TestOriginTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}, harnessOpt{timeout: "100ms"})
	expect(t, hs.get("/slow"), http.StatusGatewayTimeout, "", "detail=origin-timeout")
}

func TestRequestBoundPassDoesNotPoisonTheURL(t *testing.T) {
	hs := newHarness(t, static("public", "Cache-Control: max-age=60"), harnessOpt{})
	expect(t, hs.get("/pp", "Cache-Control: no-store"), 200, "public")
	expect(t, hs.get("/pp"), 200, "public", "stored")
	expect(t, hs.get("/pp"), 200, "public", "hit")
}

func TestQualifiedPrivateFieldsNotStored(t *testing.T) {
	hs := newHarness(t, static("x", `Cache-Control: max-age=60, private="X-User"`, "X-User: alice"), harnessOpt{})
	hs.get("/q")
	r := hs.get("/q")
	expect(t, r, 200, "x", "hit")
	if r.Header.Get("X-User") != "" {
		t.Fatal("a private= field was stored and served to another client")
	}
}

// The net/http server stays available behind the plain listener (server.http1: stdlib).
func TestStdlibEngine(t *testing.T) {
	hs := newHarness(t, static("std", "Cache-Control: max-age=60"), harnessOpt{http1: "stdlib"})
	expect(t, hs.get("/s"), 200, "std", "stored")
	r := hs.get("/s", "Range: bytes=1-")
	expect(t, r, 206, "td", "hit")
	expect(t, hs.get("/s", "Host: nowhere.test"), http.StatusMisdirectedRequest, "")
}
