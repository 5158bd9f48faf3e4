package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunCountsAndSamples runs a short soak against a real server and this test process's own
// memory: every path is requested, answers are counted by status, and RSS is sampled.
func TestRunCountsAndSamples(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("w") != "300" {
			http.Error(w, "query lost", http.StatusBadRequest)
			return
		}
		w.Write(bytes.Repeat([]byte("x"), 1000))
	})
	srv := httptest.NewServer(mux) // /missing: 404
	t.Cleanup(srv.Close)
	cfg := DefaultConfig()
	cfg.Base, cfg.PID = srv.URL, os.Getpid()
	cfg.Paths = []string{"/ok?w=300", "/missing"}
	cfg.Conns, cfg.Duration, cfg.Interval = 2, 300*time.Millisecond, 50*time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Other == 0 || res.Errors != 0 {
		t.Fatalf("ok %d, other %d, errors %d: want both paths answered, no errors", res.OK, res.Other, res.Errors)
	}
	if d := res.OK - res.Other; d < -2 || d > 2 {
		t.Errorf("ok %d vs other %d: round-robin should alternate the two paths", res.OK, res.Other)
	}
	if res.Bytes < res.OK*1000 {
		t.Errorf("bytes %d < %d answers x 1000", res.Bytes, res.OK)
	}
	if len(res.Samples) < 3 {
		t.Fatalf("%d samples, want start, at least one tick, end", len(res.Samples))
	}
	// The kernel updates VmHWM lazily (its RSS counters are batched per CPU), so a sample can
	// read a little above it: only both positive is certain.
	if res.Peak() <= 0 || res.HWM <= 0 {
		t.Errorf("peak %d, HWM %d: want both positive", res.Peak(), res.HWM)
	}
	var out strings.Builder
	if err := res.Report(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\nRESULT ok=") || !strings.HasPrefix(out.String(), "| t s |") {
		t.Errorf("report:\n%s", out.String())
	}
}

// TestRunStopsWhenProcessGone: a sampled process that does not exist fails the run at once.
func TestRunStopsWhenProcessGone(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Base, cfg.Paths, cfg.PID, cfg.ProcDir = "http://127.0.0.1:1", []string{"/"}, 12345, t.TempDir()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded without a process to sample")
	}
}

func TestReadPaths(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("# comment\n/a.jpg?w=300\n\n  /b.png?fm=webp  \n"), 0o644)
	paths, err := readPaths(good)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(paths, " ") != "/a.jpg?w=300 /b.png?fm=webp" {
		t.Errorf("paths %q", paths)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("a.jpg\n"), 0o644)
	if _, err := readPaths(bad); err == nil {
		t.Error("accepted a path without a leading /")
	}
}

func TestMiddle(t *testing.T) {
	r := &Result{Samples: []Sample{{At: 0, RSS: 1}, {At: 10 * time.Second, RSS: 2}, {At: 20 * time.Second, RSS: 3},
		{At: 30 * time.Second, RSS: 5}, {At: 41 * time.Second, RSS: 4}}}
	if m := r.Middle(); m.RSS != 3 {
		t.Errorf("middle %+v, want the 20 s sample", m)
	}
	if p := r.Peak(); p != 5 {
		t.Errorf("peak %d, want 5", p)
	}
}

func TestValidate(t *testing.T) {
	good := DefaultConfig()
	good.Base, good.Paths, good.PID = "http://127.0.0.1:1", []string{"/"}, 1
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"good", func(*Config) {}, true},
		{"no url", func(c *Config) { c.Base = "" }, false},
		{"no paths", func(c *Config) { c.Paths = nil }, false},
		{"no pid", func(c *Config) { c.PID = 0 }, false},
		{"no conns", func(c *Config) { c.Conns = 0 }, false},
		{"no duration", func(c *Config) { c.Duration = 0 }, false},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		if err := c.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
