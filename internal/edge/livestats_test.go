package edge

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/livestats"
	"github.com/pixcdn/pixcdn/internal/store"
)

// liveDoc is a configuration of one domain in front of originURL.
func liveDoc(name, originURL string) string {
	return fmt.Sprintf(`listen: "127.0.0.1:0"
cache:
  memory_size: 64MiB
domains:
  - name: %s
    origin:
      servers:
        - url: %q
`, name, originURL)
}

// liveEdge is an edge with live stats and nothing else observing (no metrics, no access
// log), served without a listener.
func liveEdge(t testing.TB, doc string, live *livestats.Recorder) *Server {
	t.Helper()
	cfg, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, doc)
	}
	st, err := store.Open(store.Config{MemoryBytes: int64(cfg.Cache.MemorySize), MemoryObjectMax: int64(cfg.Cache.MemoryObjectMax), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, st, Options{Logger: quietLogger(), Live: live})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Shutdown(context.Background())
		st.Close()
	})
	return e
}

func liveOrigin(t testing.TB) *httptest.Server {
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write([]byte("0123456789"))
	}))
	t.Cleanup(o.Close)
	return o
}

func serveLive(e *Server, host, path string) int {
	rq := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, rq)
	return w.Code
}

// TestLiveStats: with only the live stats on, the edge counts requests, hits and origin
// exchanges by configured domain, unknown hosts apart, and follows a reload's domain names.
func TestLiveStats(t *testing.T) {
	o := liveOrigin(t)
	live := livestats.NewRecorder()
	e := liveEdge(t, liveDoc("example.com", o.URL), live)
	live.Sample(time.Now())
	for _, path := range []string{"/a", "/a", "/down"} { // miss, hit, origin failure
		serveLive(e, "example.com", path)
	}
	if code := serveLive(e, "unknown.test", "/a"); code != http.StatusMisdirectedRequest {
		t.Fatalf("unknown host: %d", code)
	}
	s := live.Sample(time.Now())
	d := s.Domains["example.com"]
	if d.Requests != 3 || d.Hits != 1 || d.HitBytes != 10 || d.OriginRequests != 2 || d.OriginErrors != 1 || d.Errors != 1 {
		t.Errorf("example.com: %+v", d.Counters)
	}
	if u := s.Domains[""]; u.Requests != 1 || u.OriginRequests != 0 {
		t.Errorf("unknown host: %+v", u.Counters)
	}

	cfg, err := config.Parse([]byte(liveDoc("example.org", o.URL)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	serveLive(e, "example.org", "/b")
	s = live.Sample(time.Now())
	if d := s.Domains["example.org"]; d.Requests != 1 || d.OriginRequests != 1 || len(s.Domains) != 1 {
		t.Errorf("after the reload: %+v", s.Domains)
	}
}

// TestHitAllocsWithLive: the live stats add no allocation to a hit.
func TestHitAllocsWithLive(t *testing.T) {
	e := liveEdge(t, liveDoc("example.com", liveOrigin(t).URL), livestats.NewRecorder())
	req := httptest.NewRequest(http.MethodGet, "http://example.com/obj", nil)
	w := &discardWriter{h: http.Header{}}
	e.ServeHTTP(w, req) // fill
	allocs := testing.AllocsPerRun(200, func() {
		w.reset()
		e.ServeHTTP(w, req)
	})
	if w.status != 200 {
		t.Fatalf("status %d", w.status)
	}
	if allocs > maxHitAllocs {
		t.Fatalf("a cache hit with live stats allocates %.0f times, budget %d", allocs, maxHitAllocs)
	}
}

// BenchmarkHit1KLive is BenchmarkHit1K's hit with the live stats on: its difference to a
// plain hit is the recorder's cost (the response recorder and the Recorder's counts).
func BenchmarkHit1KLive(b *testing.B) {
	e := liveEdge(b, liveDoc("example.com", liveOrigin(b).URL), livestats.NewRecorder())
	req := httptest.NewRequest(http.MethodGet, "http://example.com/obj", nil)
	w := &discardWriter{h: http.Header{}}
	e.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.ServeHTTP(w, req)
	}
}
