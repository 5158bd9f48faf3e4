package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/h1"
)

// inlineCount is how many requests the edge's event loops answered inline.
func inlineCount(e *Server) uint64 {
	var n uint64
	for _, s := range e.servers {
		if h, ok := s.(*h1.Server); ok {
			n += h.InlineRequests()
		}
	}
	return n
}

// rawGet sends one request for example.com on a connection of its own (a connection a loop
// hands to a goroutine stays there, so every request here starts on a loop).
func (hs *harness) rawGet(method, path string, extra ...string) (*http.Response, string) {
	hs.t.Helper()
	nc, err := net.DialTimeout("tcp", hs.edge.Addr(), 5*time.Second)
	if err != nil {
		hs.t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + path + " HTTP/1.1\r\nHost: example.com\r\n"
	for _, line := range extra {
		req += line + "\r\n"
	}
	io.WriteString(nc, req+"\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), &http.Request{Method: method})
	if err != nil {
		hs.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		hs.t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return resp, string(b)
}

func loopHarness(t *testing.T, h http.HandlerFunc, opt harnessOpt) *harness {
	opt.serverYAML += "  event_loops: 2\n"
	return newHarness(t, h, opt)
}

// Memory hits are answered by the event loops, everything else by the connection's goroutine,
// with one count per request either way.
func TestInlineHitsAndDeclines(t *testing.T) {
	hs := loopHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if strings.HasSuffix(r.URL.Path, ".css") {
			w.Header().Set("Content-Type", "text/css")
			io.WriteString(w, strings.Repeat("body { color: red; } ", 100))
			return
		}
		io.WriteString(w, "hello "+r.URL.Path)
	}, harnessOpt{})
	resp, body := hs.rawGet("GET", "/a")
	if body != "hello /a" || !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("miss: %q %q", body, resp.Header.Get("Cache-Status"))
	}
	if n := inlineCount(hs.edge); n != 0 {
		t.Fatalf("a miss was answered inline (%d)", n)
	}
	memHits := hs.store.Stats().MemoryHits
	for i := range 3 {
		resp, body = hs.rawGet("GET", "/a")
		if body != "hello /a" || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") || resp.Header.Get("Age") == "" {
			t.Fatalf("hit %d: %q %v", i, body, resp.Header)
		}
	}
	if n := inlineCount(hs.edge); n != 3 {
		t.Errorf("inline answers %d, want the 3 hits", n)
	}
	if got := hs.store.Stats().MemoryHits - memHits; got != 3 {
		t.Errorf("memory hits counted %d, want 3", got)
	}
	resp, body = hs.rawGet("HEAD", "/a")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != int64(len("hello /a")) {
		t.Errorf("HEAD: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, _ = hs.rawGet("GET", "/a", `If-None-Match: "v1"`); resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional hit: %d, want 304", resp.StatusCode)
	}
	if resp, body = hs.rawGet("GET", "/a", "Range: bytes=0-4"); resp.StatusCode != http.StatusPartialContent || body != "hello" {
		t.Errorf("range hit: %d %q", resp.StatusCode, body)
	}
	if n := inlineCount(hs.edge); n != 6 {
		t.Errorf("inline answers %d, want 6 (HEAD, 304 and 206 too)", n)
	}

	// A text asset a client takes compressed is coded by a goroutine; the coded variant,
	// once stored, is a hit like any other.
	hs.rawGet("GET", "/s.css")
	before := inlineCount(hs.edge)
	resp, body = hs.rawGet("GET", "/s.css", "Accept-Encoding: gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) == 0 {
		t.Errorf("compressed answer: %v, %d bytes", resp.Header, len(body))
	}
	if n := inlineCount(hs.edge); n != before {
		t.Errorf("a hit to compress was answered inline")
	}
	for range 2 {
		resp, coded := hs.rawGet("GET", "/s.css", "Accept-Encoding: gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || coded != body || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") {
			t.Errorf("compressed hit: %v, %d bytes", resp.Header, len(coded))
		}
	}
	if _, plain := hs.rawGet("GET", "/s.css"); !strings.HasPrefix(plain, "body {") {
		t.Errorf("identity hit of the text asset: %q", plain)
	}
	if got, want := hs.edge.stats.Requests.Load(), int64(12); got != want {
		t.Errorf("requests counted %d, want %d (declined attempts are not counted)", got, want)
	}
}

// An object only the disk tier holds is read by a goroutine, never by a loop.
func TestInlineDeclinesDiskHits(t *testing.T) {
	big := strings.Repeat("d", 64<<10)
	hs := loopHarness(t, static(big, "Cache-Control: max-age=60"), harnessOpt{
		diskDir: t.TempDir(), cacheYAML: "  memory_object_max: 16KiB\n"})
	hs.rawGet("GET", "/big")
	waitFor(t, "the object on disk", func() bool { return hs.store.Stats().DiskObjects == 1 })
	resp, body := hs.rawGet("GET", "/big")
	if body != big || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("disk hit: %d bytes, %q", len(body), resp.Header.Get("Cache-Status"))
	}
	if n := inlineCount(hs.edge); n != 0 {
		t.Errorf("a disk hit was answered inline")
	}
	if st := hs.store.Stats(); st.DiskHits != 1 || st.MemoryHits != 0 {
		t.Errorf("store counted %d disk and %d memory hits, want 1 and 0", st.DiskHits, st.MemoryHits)
	}
}

// A domain with rate limits is served by goroutines: a declined request must not have spent
// a token, so the limit holds exactly.
func TestInlineRateLimitedDomain(t *testing.T) {
	hs := loopHarness(t, static("ok", "Cache-Control: max-age=60"), harnessOpt{domainYAML: `    access:
      rate_limits:
        - {name: per-ip, key: ip, requests: 3, interval: 1m, block: 30s}
`})
	var statuses []int
	for range 4 {
		resp, _ := hs.rawGet("GET", "/a")
		statuses = append(statuses, resp.StatusCode)
	}
	if fmt.Sprint(statuses) != "[200 200 200 429]" {
		t.Errorf("statuses %v, want three answers then 429", statuses)
	}
	if n := inlineCount(hs.edge); n != 0 {
		t.Errorf("%d requests of a rate-limited domain answered inline", n)
	}
}

// Kept-alive connections of concurrent clients stay on the loops while they ask for hits,
// each answer the right one.
func TestInlineUnderLoad(t *testing.T) {
	hs := loopHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "body of "+r.URL.Path)
	}, harnessOpt{})
	for i := range 40 {
		hs.rawGet("GET", fmt.Sprintf("/o%d", i))
	}
	done := make(chan error, 8)
	for c := range 8 {
		go func() {
			nc, err := net.Dial("tcp", hs.edge.Addr())
			if err != nil {
				done <- err
				return
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(nc)
			for i := range 300 {
				path := fmt.Sprintf("/o%d", (c*7+i)%40)
				fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: example.com\r\n\r\n", path)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					done <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil || string(b) != "body of "+path {
					done <- fmt.Errorf("%s: %q %v", path, b, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := hs.edge.stats.Requests.Load(); got != 40+8*300 {
		t.Errorf("requests counted %d, want %d", got, 40+8*300)
	}
	if n := inlineCount(hs.edge); n != 8*300 {
		t.Errorf("inline answers %d, want %d", n, 8*300)
	}
}

// Each edge's loops add as many Ps to GOMAXPROCS while it runs, and give them back when it
// stops.
func TestEventLoopsHoldProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	hs := loopHarness(t, static("ok", "Cache-Control: max-age=60"), harnessOpt{})
	if got := runtime.GOMAXPROCS(0); got != before+2 {
		t.Errorf("GOMAXPROCS %d with 2 loops running, want %d", got, before+2)
	}
	hs.stop()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS %d after the edge stopped, want %d", got, before)
	}
}

// A plain hit's header is the same whether h1 sends the stored fields as the block serialized
// once (AddFields) or net/http sends them from the map: no field lost, none doubled.
func TestHitHeaderBlockMatchesMap(t *testing.T) {
	origin := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=600")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("ETag", `"e1"`)
		h.Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		h.Add("Link", "</a.css>; rel=preload; as=style")
		h.Add("Link", "</b.js>; rel=preload; as=script")
		h.Set("Age", "5") // respond's own Age replaces it
		h.Set("X-Origin", "one")
		io.WriteString(w, "tiny")
	}
	header := func(http1 string) http.Header {
		hs := newHarness(t, origin, harnessOpt{http1: http1})
		hs.get("/h")
		r := hs.get("/h")
		if !strings.Contains(r.cacheStatus(), "; hit") {
			t.Fatalf("%s: not a hit: %q", http1, r.cacheStatus())
		}
		h := r.Header.Clone()
		h.Del("Date")
		return h
	}
	native, std := header(config.HTTP1Native), header(config.HTTP1Stdlib)
	if fmt.Sprint(native) != fmt.Sprint(std) {
		t.Errorf("hit header through h1:\n %v\nthrough net/http:\n %v", native, std)
	}
	if len(native["Link"]) != 2 || len(native["Age"]) != 1 || native.Get("X-Origin") != "one" {
		t.Errorf("hit header through h1: %v", native)
	}
}
