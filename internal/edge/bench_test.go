package edge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing but reuses its header map, as net/http
// does not: what the benchmark counts is the edge's own work.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(s int)   { w.status = s }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// hitSetup fills the cache with one text object of size n and returns a request that hits it.
func hitSetup(tb testing.TB, n int) (*Server, *http.Request) {
	return hitSetupType(tb, n, "text/plain")
}

func hitSetupType(tb testing.TB, n int, contentType string) (*Server, *http.Request) {
	hs := newHarness(tb, static(strings.Repeat("x", n), "Cache-Control: max-age=3600", "Content-Type: "+contentType, `ETag: "b1"`), harnessOpt{})
	if r := hs.get("/obj"); r.StatusCode != 200 {
		tb.Fatalf("fill: %d", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://example.com/obj", nil)
	req.RequestURI = "/obj"
	req.RemoteAddr = "127.0.0.1:5000"
	return hs.edge, req
}

func benchHit(b *testing.B, n int) {
	e, req := hitSetup(b, n)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		w.reset()
		e.ServeHTTP(w, req)
	}
	if w.status != 200 || w.n != n || !strings.Contains(w.h.Get("Cache-Status"), "hit") {
		b.Fatalf("not a hit: %d %d %v", w.status, w.n, w.h)
	}
}

func BenchmarkHit1K(b *testing.B) { benchHit(b, 1<<10) }

// BenchmarkHit1KImage is a hit on a 1 KiB object of a type never encoded (the common case of
// an image CDN): no Vary, no Accept-Encoding lookup.
func BenchmarkHit1KImage(b *testing.B) {
	e, req := hitSetupType(b, 1<<10, "image/jpeg")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.ServeHTTP(w, req)
	}
	if w.status != 200 || !strings.Contains(w.h.Get("Cache-Status"), "hit") {
		b.Fatalf("not a hit: %d %v", w.status, w.h)
	}
}
func BenchmarkHit20K(b *testing.B) { benchHit(b, 20<<10) }

// TestHitAllocs guards the hit path's allocation count.
const maxHitAllocs = 1 // the cache key; everything else is reused or on the stack

func TestHitAllocs(t *testing.T) {
	e, req := hitSetup(t, 1024)
	w := &discardWriter{h: http.Header{}}
	allocs := testing.AllocsPerRun(200, func() {
		w.reset()
		e.ServeHTTP(w, req)
	})
	if w.status != 200 {
		t.Fatalf("status %d", w.status)
	}
	t.Logf("allocations per hit: %.0f", allocs)
	if allocs > maxHitAllocs {
		t.Fatalf("a cache hit allocates %.0f times, budget %d", allocs, maxHitAllocs)
	}
}

// BenchmarkHitEncoded is a hit on the stored brotli coding of a 20 KiB text object: the
// source lookup, then the variant's.
func BenchmarkHitEncoded(b *testing.B) {
	e, req := hitSetup(b, 20<<10)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	w := &discardWriter{h: http.Header{}}
	e.ServeHTTP(w, req) // makes the coding
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.ServeHTTP(w, req)
	}
	if w.status != 200 || w.h.Get("Content-Encoding") != "br" || !strings.Contains(w.h.Get("Cache-Status"), "hit") {
		b.Fatalf("not an encoded hit: %d %v", w.status, w.h)
	}
}

// BenchmarkHitWithRules is BenchmarkHit1K with every access rule on: a type-A signature, a
// Referer allow list, a User-Agent deny list, 10 000 denied CIDRs and a rate rule that never
// refuses. Its difference to BenchmarkHit1K is the rules' cost on a hit.
func BenchmarkHitWithRules(b *testing.B) {
	var cidrs strings.Builder
	for i := range 10000 {
		if i%2 == 0 {
			fmt.Fprintf(&cidrs, "\"10.%d.%d.0/24\", ", i/256%256, i%256)
		} else {
			fmt.Fprintf(&cidrs, "\"2001:db8:%x::/48\", ", i)
		}
	}
	hs := newHarness(b, static(strings.Repeat("x", 1024), "Cache-Control: max-age=3600", "Content-Type: application/octet-stream"), harnessOpt{domainYAML: `    access:
      sign: {type: A, keys: ["` + signKey + `"], ttl: 8760h}
      referer: {mode: allow, patterns: ["example.com", "*.example.com", "img.*.example.org"], allow_empty: true}
      user_agent: {mode: deny, patterns: ["*curl*", "*wget*", "*python*", "*scrapy*", "*bot*"]}
      ip: {mode: deny, cidrs: [` + cidrs.String() + `]}
      rate_limits: [{name: all, key: ip, requests: 100000000, interval: 1s}]
`})
	signed, err := hs.edge.Verifier("example.com").Sign("http://example.com/obj", hs.clock.Now(), "0", "0")
	if err != nil {
		b.Fatal(err)
	}
	uri := strings.TrimPrefix(signed, "http://example.com")
	req, _ := http.NewRequest(http.MethodGet, "http://example.com"+uri, nil)
	req.RequestURI = uri
	req.RemoteAddr = "127.0.0.1:5000"
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0")
	req.Header.Set("Referer", "https://www.example.com/page")
	w := &discardWriter{h: http.Header{}}
	e := hs.edge
	e.ServeHTTP(w, req) // fill
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.ServeHTTP(w, req)
	}
	if w.status != 200 || !strings.Contains(w.h.Get("Cache-Status"), "hit") {
		b.Fatalf("not a hit: %d %v", w.status, w.h)
	}
}

// BenchmarkHitWire is a hit through the plain listener (an event loop, the stored header sent
// as one serialized block), a kept-alive client reading each answer before it asks again: the
// whole server side of a hit, system calls included. Under callgrind, which counts only the
// process's own instructions, it measures the user-space cost of a hit on the wire.
func BenchmarkHitWire1K(b *testing.B)  { benchHitWire(b, 1<<10) }
func BenchmarkHitWire20K(b *testing.B) { benchHitWire(b, 20<<10) }

func benchHitWire(b *testing.B, n int) {
	e, _ := hitSetupType(b, n, "image/jpeg")
	nc, err := net.Dial("tcp", e.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	req := []byte("GET /obj HTTP/1.1\r\nHost: example.com\r\n\r\n")
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		nc.Write(req)
		if err := discardResponse(br, n); err != nil {
			b.Fatal(err)
		}
	}
}

// discardResponse reads one response of a body of n bytes.
func discardResponse(br *bufio.Reader, n int) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
	}
	_, err := br.Discard(n)
	return err
}
