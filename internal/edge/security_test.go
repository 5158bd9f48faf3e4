package edge

import (
	"context"
	"errors"
	"fmt"
	"github.com/pixcdn/pixcdn/internal/purge"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc"
	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// originFailures is the passive health of the harness origin's one server.
func (hs *harness) originFailures(t *testing.T) int {
	t.Helper()
	for _, h := range hs.edge.OriginHealth() {
		return h.ConsecutiveFailures
	}
	t.Fatal("no origin health reported")
	return 0
}

// TestMalformedRequestBodyIsTheClientsError reproduces an attack: request bodies whose chunked
// framing is broken, sent again and again, must get 400 each and never count against the
// origin's health (three origin failures mark it down for every client of the domain).
func TestMalformedRequestBodyIsTheClientsError(t *testing.T) {
	bodies := map[string]string{
		"bad chunk size":    "zz\r\n\r\n",
		"overflowing size":  "ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
		"LF-only lines":     "3\nabc\n0\n\n",
		"data without CRLF": "3\r\nabcdef\r\n0\r\n\r\n",
	}
	for _, listener := range []string{"", "stdlib"} {
		t.Run("http1="+listener, func(t *testing.T) {
			hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "fine")
			}, harnessOpt{http1: listener, serverYAML: "  read_timeout: 1s\n"})
			for round := 0; round < 3; round++ {
				for name, body := range bodies {
					req := "POST /x HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n" + body
					if got := hs.raw(t, req); !strings.Contains(got, " 400 ") {
						t.Fatalf("%s: got %q, want 400", name, got)
					}
				}
			}
			// A client that stops sending half way through its body, until the read timeout.
			for range 3 {
				hs.raw(t, "POST /x HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
			}
			if n := hs.originFailures(t); n != 0 {
				t.Fatalf("malformed client bodies counted %d origin failures", n)
			}
			expect(t, hs.get("/new"), 200, "fine") // the domain's origin is not marked down
			if st := hs.edge.StatsSnapshot(); st["origin_errors"] != 0 {
				t.Fatalf("origin_errors = %d", st["origin_errors"])
			}
		})
	}
}

// TestOversizedRequestBodyIsTheClientsError: a chunked body over server.max_body_bytes is
// answered 413 and does not count against the origin either.
func TestOversizedRequestBodyIsTheClientsError(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "fine")
	}, harnessOpt{serverYAML: "  max_body_bytes: 1KiB\n"})
	chunk := strings.Repeat("a", 4096)
	req := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk)
	for range 4 {
		if got := hs.raw(t, req); !strings.Contains(got, " 413 ") {
			t.Fatalf("got %q, want 413", got)
		}
	}
	if n := hs.originFailures(t); n != 0 {
		t.Fatalf("oversized client bodies counted %d origin failures", n)
	}
	expect(t, hs.get("/new"), 200, "fine")
}

// TestStatusForClientBody: the mapping of a client-body failure inside an origin error.
func TestStatusForClientBody(t *testing.T) {
	err := &origin.Error{Kind: origin.KindBadRequest, Err: fmt.Errorf("%w: %w", origin.ErrClientBody, io.ErrUnexpectedEOF)}
	if st, reason := statusFor(err); st != 400 || reason != "bad-request-body" {
		t.Fatalf("got %d %s", st, reason)
	}
	err = &origin.Error{Kind: origin.KindBadRequest, Err: fmt.Errorf("%w: %w", origin.ErrClientBody, &http.MaxBytesError{Limit: 1})}
	if st, _ := statusFor(err); st != 413 {
		t.Fatalf("got %d", st)
	}
}

// echoHost is an origin that builds its body from the Host and X-Forwarded-Host it is sent,
// as an origin that makes absolute links or redirects does.
func echoHost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=600")
	fmt.Fprintf(w, "host=%s xfh=%s", r.Host, r.Header.Get("X-Forwarded-Host"))
}

// TestCatchAllHostCannotPoisonTheCache reproduces the attack on the catch-all domain: every
// Host shares one cache entry there, so no client's Host may reach the origin.
func TestCatchAllHostCannotPoisonTheCache(t *testing.T) {
	hs := newHarness(t, echoHost, harnessOpt{names: "name: \"*\"\n"})
	originHost := strings.TrimPrefix(hs.origin.srv.URL, "http://")
	want := "host=" + originHost + " xfh="
	expect(t, hs.get("/page", "Host: evil.example", "X-Forwarded-Host: evil.example"), 200, want, "stored")
	expect(t, hs.get("/page", "Host: www.victim.example"), 200, want, "hit")
	// A port or case a client picks is not passed on either.
	expect(t, hs.get("/other", "Host: Victim.example:6666"), 200, want)
}

// TestCatchAllKeyedByHost: with key_host the catch-all keeps one entry per host, and each
// host's origin request carries that (canonical) host.
func TestCatchAllKeyedByHost(t *testing.T) {
	hs := newHarness(t, echoHost, harnessOpt{names: "name: \"*\"\n", domainYAML: "    cache:\n      key_host: true\n"})
	expect(t, hs.get("/page", "Host: a.example:8080"), 200, "host=a.example xfh=a.example", "stored")
	expect(t, hs.get("/page", "Host: B.example"), 200, "host=b.example xfh=b.example", "stored")
	expect(t, hs.get("/page", "Host: a.example"), 200, "host=a.example xfh=a.example", "hit")
	if n := hs.origin.hits.Load(); n != 2 {
		t.Fatalf("origin hits %d, want 2", n)
	}
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"a.example/page"}})
	expect(t, hs.get("/page", "Host: a.example"), 200, "host=a.example xfh=a.example", "stored")
	expect(t, hs.get("/page", "Host: b.example"), 200, "host=b.example xfh=b.example", "hit")
}

// TestAliasHostIsTheDomains: an alias shares the domain's cache, so the origin is sent the
// domain's name whichever of its names (and whatever port) the client used.
func TestAliasHostIsTheDomains(t *testing.T) {
	hs := newHarness(t, echoHost, harnessOpt{})
	expect(t, hs.get("/page", "Host: WWW.example.com:6666"), 200, "host=example.com xfh=example.com", "stored")
	expect(t, hs.get("/page", "Host: example.com"), 200, "host=example.com xfh=example.com", "hit")
}

// TestRewriteHeadersDoNotReachTheOrigin reproduces the unkeyed rewrite headers: an origin that
// obeys X-Original-URL would store the rewritten page under the requested URL's key.
func TestRewriteHeadersDoNotReachTheOrigin(t *testing.T) {
	obey := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		path := r.URL.Path
		if o := r.Header.Get("X-Original-URL"); o != "" {
			path = o
		}
		var got []string
		for _, f := range objcache.Rerouting {
			if v := r.Header.Get(f); v != "" {
				got = append(got, f)
			}
		}
		fmt.Fprintf(w, "path=%s rerouting=%v", path, got)
	}
	hostile := []string{"X-Original-URL: /admin"}
	for _, f := range objcache.Rerouting {
		if f != "X-Original-Url" {
			hostile = append(hostile, f+": x")
		}
	}
	t.Run("stripped", func(t *testing.T) {
		hs := newHarness(t, obey, harnessOpt{})
		expect(t, hs.get("/home", hostile...), 200, "path=/home rerouting=[]", "stored")
		expect(t, hs.do(http.MethodPost, "/form", nil, hostile...), 200, "path=/form rerouting=[]")
	})
	t.Run("keyed", func(t *testing.T) {
		hs := newHarness(t, obey, harnessOpt{domainYAML: "    cache:\n      key_headers: [x-original-url]\n"})
		expect(t, hs.get("/home", "X-Original-URL: /admin"), 200, "path=/admin rerouting=[X-Original-Url]", "stored")
		expect(t, hs.get("/home"), 200, "path=/home rerouting=[]", "stored")
		expect(t, hs.get("/home", "X-Original-URL: /admin"), 200, "path=/admin rerouting=[X-Original-Url]", "hit")
		hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"example.com/home"}})
		expect(t, hs.get("/home", "X-Original-URL: /admin"), 200, "path=/admin rerouting=[X-Original-Url]", "stored")
		expect(t, hs.get("/home"), 200, "path=/home rerouting=[]", "stored")
	})
}

// TestServerErrorFreshnessIsCapped reproduces a 500 pinned for its whole max-age: it stays
// fresh for max_error_ttl (10s) at most, unless status_ttl names the status.
func TestServerErrorFreshnessIsCapped(t *testing.T) {
	fault := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600, stale-while-revalidate=600")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "fault")
	}
	t.Run("default cap", func(t *testing.T) {
		hs := newHarness(t, fault, harnessOpt{domainYAML: "    cache:\n      rules:\n        - {prefix: /, ttl: 24h}\n"})
		expect(t, hs.get("/p"), 500, "fault", "stored", "ttl=10")
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/p"), 500, "fault", "hit")
		hs.clock.Advance(30 * time.Second) // past the cap and past a capped stale-while-revalidate
		hs.origin.handle(static("recovered", "Cache-Control: max-age=600"))
		expect(t, hs.get("/p"), 200, "recovered")
		if n := hs.origin.hits.Load(); n != 2 {
			t.Fatalf("origin hits %d, want 2", n)
		}
	})
	t.Run("status_ttl names it", func(t *testing.T) {
		hs := newHarness(t, fault, harnessOpt{domainYAML: "    cache:\n      status_ttl: {500: 60s}\n"})
		expect(t, hs.get("/p"), 500, "fault", "stored", "ttl=60")
		hs.clock.Advance(30 * time.Second)
		expect(t, hs.get("/p"), 500, "fault", "hit")
	})
	t.Run("configured cap", func(t *testing.T) {
		hs := newHarness(t, fault, harnessOpt{domainYAML: "    cache:\n      max_error_ttl: 2s\n"})
		expect(t, hs.get("/p"), 500, "fault", "stored", "ttl=2")
	})
}

// TestOriginHeaderBlockIsCapped reproduces a 2 MiB origin header block passed through to
// clients: beyond origin.max_header_bytes (64 KiB) it is answered 502 with the reason.
func TestOriginHeaderBlockIsCapped(t *testing.T) {
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		n := 32 << 10
		if r.URL.Path == "/huge" {
			n = 2 << 20
		}
		for i := 0; n > 0; i++ {
			w.Header().Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", min(n, 8000)))
			n -= 8000
		}
		io.WriteString(w, "body")
	}, harnessOpt{})
	r := hs.get("/huge")
	expect(t, r, 502, "", "origin-header-too-large")
	if !strings.Contains(r.body, "origin-header-too-large") {
		t.Fatalf("body %q gives no reason", r.body)
	}
	expect(t, hs.get("/fine"), 200, "body") // 32 KiB of header is within the limit
}

// TestTimedOutImageJob: a job past images.timeout is 503 with Retry-After, as the docs say
// (it was 504: the pipeline's timeout also wraps the context's deadline).
func TestTimedOutImageJob(t *testing.T) {
	err := &imageproc.Error{Kind: imageproc.ErrTimeout, Op: "save", Err: errors.Join(context.DeadlineExceeded, errors.New("cancelled"))}
	if st, reason := statusFor(err); st != 503 || reason != "image-timeout" {
		t.Fatalf("statusFor: %d %s", st, reason)
	}
	hs, _ := newImageHarness(t, harnessOpt{domainYAML: "    images:\n      timeout: 5ms\n"})
	expect(t, hs.get("/photo.jpg"), 200, "") // the source is cached: only the job can be slow
	r := hs.get("/photo.jpg?w=2000&fm=avif&q=90&sharp=100&blur=40&up=1&fit=crop&h=1500")
	expect(t, r, 503, "", "image-timeout")
	if r.Header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", r.Header)
	}
}

// TestExpensiveTransformsAreBounded reproduces the image denial of service: blur=2000 took
// 3-9 s of CPU per variant on an 800x600 source and 40 distinct ones saturated the workers.
// Now a wide blur costs what a narrow one does, and a transform estimated over
// images.max_cpu is refused with 422 before it is decoded.
func TestExpensiveTransformsAreBounded(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{})
	expect(t, hs.get("/photo.jpg"), 200, "")
	sem := make(chan struct{}, 4) // within the default queue: only the work is under test
	results := make(chan result, 40)
	for i := range 40 {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			results <- hs.get(fmt.Sprintf("/photo.jpg?blur=%d&w=%d", 1500+i*10, 800-i))
		}()
	}
	for range 40 {
		if r := <-results; r.StatusCode != 200 {
			t.Fatalf("a wide blur: %d %q", r.StatusCode, r.body)
		}
	}
	r := hs.get("/photo.jpg?x-oss-process=image/resize,w_8000,limit_0/format,avif")
	expect(t, r, 422, "", "image-too-costly")
	if st := hs.edge.ImageStats(); st.Made != 40 {
		t.Fatalf("made %d variants, want 40 (the refused one is never made)", st.Made)
	}
}

// TestImageWorkersAreSharedFairly: one client's flood of distinct variants fills the workers
// and the queue; another client's miss still gets the next free worker, and the flood's
// newest queued job is the one refused.
func TestImageWorkersAreSharedFairly(t *testing.T) {
	hs, _ := newImageHarness(t, harnessOpt{
		cacheYAML:  "images: {workers: 1, queue: 3}\n",
		serverYAML: "  trusted_proxies: [127.0.0.1/32]\n",
	})
	expect(t, hs.get("/photo.jpg"), 200, "")
	release, err := hs.edge.images.Acquire(t.Context(), "10.0.0.1", 1) // the flood's running job
	if err != nil {
		t.Fatal(err)
	}
	flood := make(chan result, 3)
	for i := range 3 {
		go func() { flood <- hs.get(fmt.Sprintf("/photo.jpg?w=%d", 100+i), "X-Forwarded-For: 10.0.0.1") }()
		waitFor(t, "the flood to queue", func() bool { _, w := hs.edge.images.Stats(); return w == i+1 })
	}
	other := make(chan result, 1)
	go func() { other <- hs.get("/photo.jpg?w=77", "X-Forwarded-For: 10.0.0.2") }()
	refused := <-flood
	if refused.StatusCode != 503 || !strings.Contains(refused.body, "image-queue-full") {
		t.Fatalf("the flood's newest job: %d %q, want 503 image-queue-full", refused.StatusCode, refused.body)
	}
	release()
	if r := <-other; r.StatusCode != 200 {
		t.Fatalf("the other client: %d %q", r.StatusCode, r.body)
	}
	for range 2 {
		if r := <-flood; r.StatusCode != 200 {
			t.Fatalf("the flood's queued jobs: %d", r.StatusCode)
		}
	}
}
