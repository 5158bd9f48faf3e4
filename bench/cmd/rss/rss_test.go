package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCache answers /gen/N with size bytes; the first request for each path is a miss, later
// ones carry a hit Cache-Status, like a cache in front of an origin.
func fakeCache(size int) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{}
	body := bytes.Repeat([]byte("x"), size)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/gen/") {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hit := seen[r.URL.Path]
		seen[r.URL.Path] = true
		mu.Unlock()
		if hit {
			w.Header().Set("Cache-Status", "fake; hit; ttl=5")
		} else {
			w.Header().Set("Cache-Status", "fake; fwd=uri-miss; stored")
		}
		w.Write(body)
	})
}

func testConfig(t *testing.T, h http.Handler) Config {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// A fake /proc with one process whose status the test controls.
	proc := t.TempDir()
	os.MkdirAll(filepath.Join(proc, "42"), 0o755)
	status := "VmHWM:\t204800 kB\nVmRSS:\t102400 kB\nRssAnon:\t92160 kB\nRssFile:\t10240 kB\n"
	if err := os.WriteFile(filepath.Join(proc, "42", "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Target, cfg.PID, cfg.ProcDir = srv.URL, 42, proc
	cfg.Objects, cfg.Size, cfg.FillConns, cfg.Conns = 50, 1000, 4, 4
	cfg.Duration, cfg.Sample = 300*time.Millisecond, 20*time.Millisecond
	return cfg
}

func TestMeasure(t *testing.T) {
	cfg := testConfig(t, fakeCache(1000))
	rep, err := Measure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n, h, e := rep.fill.Requests.Load(), rep.fill.Hits.Load(), rep.fill.Errors.Load(); n != 50 || h != 0 || e != 0 {
		t.Errorf("fill: %d requests, %d hits, %d errors; want 50, 0, 0", n, h, e)
	}
	if n, h, e := rep.load.Requests.Load(), rep.load.Hits.Load(), rep.load.Errors.Load(); n == 0 || h != n || e != 0 {
		t.Errorf("random: %d requests, %d hits, %d errors (%v); want all hits", n, h, e, rep.load.FirstErr())
	}
	if len(rep.samples) == 0 || rep.middle().mem.RSS != 100<<20 {
		t.Errorf("samples %d, middle %+v", len(rep.samples), rep.middle())
	}
	var out strings.Builder
	rep.Write(&out)
	for _, want := range []string{"| before fill | 100.0 | 90.0 | 10.0 | 200.0 |", "200.0 MiB; target memory tier 64.0 MiB + 150 MB = 207.1 MiB: **met**"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMeasureCountsWrongSizesAsErrors(t *testing.T) {
	cfg := testConfig(t, fakeCache(999))
	cfg.Duration = 50 * time.Millisecond
	rep, err := Measure(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.fill.Errors.Load() != 50 || rep.fill.Requests.Load() != 0 {
		t.Errorf("fill: %d errors, %d ok; want 50, 0", rep.fill.Errors.Load(), rep.fill.Requests.Load())
	}
	if err := rep.fill.FirstErr(); err == nil || !strings.Contains(err.Error(), "999 bytes") {
		t.Errorf("first error %v", err)
	}
}

func TestMeasureFailsForMissingProcess(t *testing.T) {
	cfg := testConfig(t, fakeCache(1000))
	cfg.PID = 43
	if _, err := Measure(context.Background(), cfg); err == nil {
		t.Error("no error for a pid without status")
	}
}

func TestIsHit(t *testing.T) {
	for v, want := range map[string]bool{
		"pixcdn; hit; ttl=3": true, "pixcdn; fwd=uri-miss; stored": false,
		"pixcdn; fwd=stale; hit-ish": false, "": false,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Cache-Status", v)
		}
		if got := isHit(h); got != want {
			t.Errorf("isHit(%q) = %v", v, got)
		}
	}
}
