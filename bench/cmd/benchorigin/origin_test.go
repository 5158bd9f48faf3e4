package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestOrigin(t *testing.T, cfg Config) (*Origin, *httptest.Server) {
	t.Helper()
	o, err := NewOrigin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return o, srv
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestObjects(t *testing.T) {
	_, srv := newTestOrigin(t, Config{GenSize: 100 << 10})
	tests := []struct {
		path   string
		status int
		size   int
	}{
		{"/obj/1k", 200, 1 << 10},
		{"/obj/20k", 200, 20 << 10},
		{"/obj/300", 200, 300},
		{"/slow/abc", 200, 1 << 10},
		{"/gen/17", 200, 100 << 10},
		{"/obj/0k", 404, -1},
		{"/obj/x", 404, -1},
		{"/obj/99999999k", 404, -1},
		{"/other", 404, -1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv.URL+tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.size < 0 {
				return
			}
			if len(body) != tt.size {
				t.Errorf("body %d bytes, want %d", len(body), tt.size)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "max-age=3600" {
				t.Errorf("Cache-Control %q", cc)
			}
			if et := resp.Header.Get("ETag"); !strings.HasPrefix(et, `"`) || et != etag(body) {
				t.Errorf("ETag %q, want %q", et, etag(body))
			}
		})
	}
}

func TestGeneratedBodiesDependOnPathOnly(t *testing.T) {
	a1, a2, b := generate("/gen/1", 1000), generate("/gen/1", 1000), generate("/gen/2", 1000)
	if !bytes.Equal(a1, a2) {
		t.Error("same path gave different bytes")
	}
	if bytes.Equal(a1, b) {
		t.Error("different paths gave the same bytes")
	}
	if n := len(generate("/x", 13)); n != 13 {
		t.Errorf("len %d, want 13", n)
	}
}

func TestConditionalAndRange(t *testing.T) {
	_, srv := newTestOrigin(t, Config{GenSize: 1 << 10})
	resp, body := get(t, srv.URL+"/obj/1k")
	resp2, _ := get(t, srv.URL+"/obj/1k", "If-None-Match", resp.Header.Get("ETag"))
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp2.StatusCode)
	}
	resp3, part := get(t, srv.URL+"/obj/1k", "Range", "bytes=10-19")
	if resp3.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[10:20]) {
		t.Errorf("Range: status %d, body %x, want 206 %x", resp3.StatusCode, part, body[10:20])
	}
}

func TestCount(t *testing.T) {
	_, srv := newTestOrigin(t, Config{GenSize: 1 << 10})
	for range 3 {
		get(t, srv.URL+"/obj/1k?v=1")
	}
	get(t, srv.URL+"/gen/a")
	tests := []struct{ query, want string }{
		{"?path=/obj/1k", "3"}, // the query string is not part of the counted path
		{"?path=/gen/a", "1"},
		{"?path=/never", "0"},
		{"", "4"}, // /__count itself is not counted
	}
	for _, tt := range tests {
		_, body := get(t, srv.URL+"/__count"+tt.query)
		if got := strings.TrimSpace(string(body)); got != tt.want {
			t.Errorf("/__count%s = %s, want %s", tt.query, got, tt.want)
		}
	}
}

// TestSlowWaitsForDelay checks the delay is applied and ended by the clock, with a fake
// time.After so the test does not wait.
func TestSlowWaitsForDelay(t *testing.T) {
	o, srv := newTestOrigin(t, Config{Delay: time.Hour, GenSize: 1 << 10})
	fire := make(chan time.Time)
	asked := make(chan time.Duration, 1)
	o.after = func(d time.Duration) <-chan time.Time { asked <- d; return fire }
	done := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/slow/k")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	if d := <-asked; d != time.Hour {
		t.Fatalf("waited %v, want 1h", d)
	}
	select {
	case code := <-done:
		t.Fatalf("answered (%d) before the delay ended", code)
	default:
	}
	close(fire)
	if code := <-done; code != 200 {
		t.Fatalf("status %d", code)
	}
	if n := o.Count("/slow/k"); n != 1 {
		t.Errorf("count %d, want 1", n)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{DefaultConfig(), true},
		{Config{Delay: -1, GenSize: 1}, false},
		{Config{GenSize: 0}, false},
		{Config{GenSize: maxObject + 1}, false},
	}
	for i, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%d: %+v: err %v, want ok=%v", i, tt.cfg, err, tt.ok)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"1k": 1024, "20k": 20480, "5": 5} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1m", strconv.Itoa(maxObject + 1)} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

// TestFiles checks /files/<name> serves the directory's bytes with the type of the extension
// and the configured Cache-Control, and 404s for names not in it (subdirectories included).
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	css := []byte("body { color: red }\n")
	png := []byte("\x89PNG fake")
	for name, body := range map[string][]byte{"a.css": css, "b.png": png} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.FilesDir, cfg.FilesCacheControl = dir, "no-store"
	o, srv := newTestOrigin(t, cfg)
	tests := []struct {
		path, ctype string
		body        []byte
		status      int
	}{
		{"/files/a.css", "text/css; charset=utf-8", css, 200},
		{"/files/b.png", "image/png", png, 200},
		{"/files/missing.jpg", "", nil, 404},
		{"/files/sub", "", nil, 404},
	}
	for _, tt := range tests {
		resp, body := get(t, srv.URL+tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if !bytes.Equal(body, tt.body) {
			t.Errorf("%s: body %q, want %q", tt.path, body, tt.body)
		}
		if got := resp.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", tt.path, got)
		}
	}
	if n := o.Count("/files/a.css"); n != 1 {
		t.Errorf("count of /files/a.css = %d, want 1", n)
	}
}

func TestFilesDirMissing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FilesDir = filepath.Join(t.TempDir(), "nope")
	if _, err := NewOrigin(cfg); err == nil {
		t.Fatal("NewOrigin accepted a missing files dir")
	}
}
