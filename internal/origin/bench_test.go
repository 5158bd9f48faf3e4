package origin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkFSFetch(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "style.css"), make([]byte, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := NewFS(FSConfig{Root: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, bc := range []struct{ name, inm string }{{"200", ""}, {"304", "*"}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/style.css", nil)
			if bc.inm != "" {
				req.Header.Set("If-None-Match", bc.inm)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := f.Fetch(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkHTTPFetch(b *testing.B) {
	body := make([]byte, 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{Servers: []Server{{URL: srv.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	req := httptest.NewRequest("GET", "/img.jpg", nil)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.Fetch(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func BenchmarkPick(b *testing.B) {
	h, err := NewHTTP(HTTPConfig{Now: func() time.Time { return time.Time{} }, Servers: []Server{
		{URL: "http://a", Weight: 5}, {URL: "http://b"}, {URL: "http://c"}, {URL: "http://d", Priority: 1},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var tried uint64
		u, trial := h.pick(&tried)
		h.settle(u, trial, outcomeSuccess, nil)
	}
}

func BenchmarkEscapeS3Key(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		escapeS3Key("photos/2026/ünïcødé cat+dog.jpg")
	}
}
