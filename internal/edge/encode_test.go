package edge

import (
	"bytes"
	"compress/gzip"
	"github.com/pixcdn/pixcdn/internal/purge"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// cssBody is a stylesheet well above the 1 KiB compression threshold.
var cssBody = strings.Repeat("/* rule */\n.card { margin: 0px; padding: 4px 8px; color: #ff0000; }\n", 60)

func decodeBody(t *testing.T, enc, body string) string {
	t.Helper()
	var rd io.Reader
	switch enc {
	case "br":
		rd = brotli.NewReader(strings.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		rd = zr
	case "":
		return body
	default:
		t.Fatalf("unexpected coding %q", enc)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return string(b)
}

func varies(h http.Header, field string) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return true
			}
		}
	}
	return false
}

func cssOrigin(seenAE *atomic.Value) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		seenAE.Store(r.Header.Get("Accept-Encoding") + "|")
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Etag", `"v1"`)
		w.Header().Set("Content-Disposition", `attachment; filename="site.css"`)
		w.Write([]byte(cssBody))
	}
}

func TestCompressionNegotiatedAndCached(t *testing.T) {
	var seen atomic.Value
	hs := newHarness(t, cssOrigin(&seen), harnessOpt{})
	tests := []struct {
		ae, want string
	}{
		{"gzip, deflate, br, zstd", "br"},
		{"gzip, zstd", "zstd"},
		{"gzip", "gzip"},
		{"br;q=0, gzip;q=0.5, zstd;q=0.4", "gzip"},
		{"identity", ""},
		{"*;q=0", ""},
	}
	etags := map[string]string{}
	for _, tt := range tests {
		for round := range 2 {
			r := hs.get("/site.css", "Accept-Encoding: "+tt.ae)
			if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != tt.want {
				t.Fatalf("AE %q round %d: status %d, Content-Encoding %q, want %q", tt.ae, round, r.StatusCode, r.Header.Get("Content-Encoding"), tt.want)
			}
			if got := decodeBody(t, tt.want, r.body); got != cssBody {
				t.Fatalf("AE %q: decoded body differs (%d bytes)", tt.ae, len(got))
			}
			if r.Header.Get("Content-Disposition") == "" {
				t.Fatalf("AE %q: a coding must keep the source's Content-Disposition", tt.ae)
			}
			if !varies(r.Header, "Accept-Encoding") {
				t.Fatalf("AE %q: Vary %q lacks Accept-Encoding", tt.ae, r.Header.Values("Vary"))
			}
			et := r.Header.Get("Etag")
			if strings.HasPrefix(et, "W/") || et == "" {
				t.Fatalf("AE %q: ETag %q is not strong", tt.ae, et)
			}
			if prev, ok := etags[tt.want]; ok && prev != et {
				t.Fatalf("coding %q: ETag changed %q -> %q", tt.want, prev, et)
			}
			etags[tt.want] = et
			if round == 1 && !strings.Contains(r.cacheStatus(), "; hit") {
				t.Fatalf("AE %q: second request not a hit: %q", tt.ae, r.cacheStatus())
			}
		}
	}
	if len(etags) != 4 || etags[""] != `"v1"` {
		t.Fatalf("want 4 distinct representations, identity keeping the origin's ETag: %v", etags)
	}
	seenETags := map[string]bool{}
	for _, et := range etags {
		seenETags[et] = true
	}
	if len(seenETags) != 4 {
		t.Fatalf("codings share an ETag: %v", etags)
	}
	if n := hs.origin.hits.Load(); n != 1 {
		t.Fatalf("origin asked %d times, want 1", n)
	}
	if got := seen.Load(); got != "|" {
		t.Fatalf("origin was sent Accept-Encoding %q; want none (the edge encodes)", got)
	}
}

func TestCompressionFirstResponseEncoded(t *testing.T) {
	var seen atomic.Value
	hs := newHarness(t, cssOrigin(&seen), harnessOpt{})
	r := hs.get("/first.css", "Accept-Encoding: br")
	if r.Header.Get("Content-Encoding") != "br" || decodeBody(t, "br", r.body) != cssBody {
		t.Fatalf("first response: Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	expect(t, r, 200, "", "fwd=uri-miss", "stored", "detail=encoded")
}

func TestCompressionSkipped(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(cssBody))
	zw.Close()
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		switch r.URL.Path {
		case "/small.css":
			w.Header().Set("Content-Type", "text/css")
			w.Write([]byte(".a{}"))
		case "/photo.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write([]byte(cssBody))
		case "/fixed.css": // the origin forbids transformations
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Cache-Control", "max-age=600, no-transform")
			w.Write([]byte(cssBody))
		case "/pre.css": // the origin encoded it already
			w.Header().Set("Content-Type", "text/css")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		}
	}, harnessOpt{})
	for _, path := range []string{"/small.css", "/photo.jpg", "/pre.css", "/fixed.css"} {
		for range 2 {
			r := hs.get(path, "Accept-Encoding: br, zstd")
			want := ""
			if path == "/pre.css" {
				want = "gzip"
				if r.body != gz.String() {
					t.Fatalf("%s: origin's encoded body changed", path)
				}
			}
			if got := r.Header.Get("Content-Encoding"); got != want {
				t.Fatalf("%s: Content-Encoding %q, want %q", path, got, want)
			}
			if (path == "/photo.jpg" || path == "/fixed.css") && varies(r.Header, "Accept-Encoding") {
				t.Fatalf("%s: Vary: Accept-Encoding on a type never encoded", path)
			}
		}
	}
}

func TestCompressionDisabled(t *testing.T) {
	var seen atomic.Value
	hs := newHarness(t, cssOrigin(&seen), harnessOpt{domainYAML: "    compress: {enabled: false}\n"})
	r := hs.get("/site.css", "Accept-Encoding: br")
	if r.Header.Get("Content-Encoding") != "" || r.body != cssBody {
		t.Fatalf("compression disabled but Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	if got := seen.Load(); got != "br|" {
		t.Fatalf("origin saw Accept-Encoding %q; with compression off the client's goes through", got)
	}
}

func TestCompressionRangesAndConditionals(t *testing.T) {
	var seen atomic.Value
	hs := newHarness(t, cssOrigin(&seen), harnessOpt{})
	full := hs.get("/site.css", "Accept-Encoding: gzip")
	et := full.Header.Get("Etag")
	r := hs.get("/site.css", "Accept-Encoding: gzip", "Range: bytes=10-29")
	if r.StatusCode != http.StatusPartialContent || r.body != full.body[10:30] || r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("range over the encoding: status %d, %d bytes, Content-Range %q", r.StatusCode, len(r.body), r.Header.Get("Content-Range"))
	}
	if want := "bytes 10-29/" + itoa(len(full.body)); r.Header.Get("Content-Range") != want {
		t.Fatalf("Content-Range %q, want %q (of the encoded body)", r.Header.Get("Content-Range"), want)
	}
	r = hs.get("/site.css", "Accept-Encoding: gzip", "If-None-Match: "+et)
	if r.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the gzip ETag: %d", r.StatusCode)
	}
	r = hs.get("/site.css", "Accept-Encoding: br", "If-None-Match: "+et)
	if r.StatusCode != 200 || r.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("the gzip ETag must not validate the br variant: %d", r.StatusCode)
	}
}

func TestCompressionVariantsFollowTheSource(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	hs := newHarness(t, func(w http.ResponseWriter, r *http.Request) {
		v := version.Load()
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"`+itoa(int(v))+`"`)
		if r.Header.Get("If-None-Match") == `"`+itoa(int(v))+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte(strings.Repeat("console.log('version "+itoa(int(v))+"');\n", 100)))
	}, harnessOpt{})
	get := func() result {
		r := hs.get("/app.js", "Accept-Encoding: br")
		if r.Header.Get("Content-Encoding") != "br" {
			t.Fatalf("Content-Encoding %q", r.Header.Get("Content-Encoding"))
		}
		r.body = decodeBody(t, "br", r.body)
		return r
	}
	get()
	// Revalidated unchanged (304): the br variant is reused, not made again.
	hs.clock.Advance(2 * time.Minute)
	r := get()
	if strings.Contains(r.cacheStatus(), "encoded") || !strings.Contains(r.body, "version 1") {
		t.Fatalf("after a 304: Cache-Status %q", r.cacheStatus())
	}
	r = get()
	expect(t, r, 200, "", "; hit")
	// Purged and changed at the origin: the variant goes with its source.
	version.Store(2)
	hs.purge(t, purge.Purge{Kind: purge.URL, Targets: []string{"example.com/app.js"}})
	r = get()
	if !strings.Contains(r.body, "version 2") {
		t.Fatalf("after purge: body %.40q, Cache-Status %q", r.body, r.cacheStatus())
	}
	if n := hs.origin.hits.Load(); n != 3 {
		t.Fatalf("origin hits %d, want 3 (fill, 304 revalidation, refetch after purge)", n)
	}
}

func TestCompressionMinify(t *testing.T) {
	var seen atomic.Value
	hs := newHarness(t, cssOrigin(&seen), harnessOpt{domainYAML: "    compress: {minify: [css]}\n"})
	r := hs.get("/site.css", "Accept-Encoding: gzip")
	got := decodeBody(t, "gzip", r.body)
	if strings.Contains(got, "/* rule */") || !strings.Contains(got, ".card{margin:0;padding:4px 8px;color:red}") {
		t.Fatalf("minified body: %.120q", got)
	}
	if r := hs.get("/site.css", "Accept-Encoding: identity"); r.body != cssBody {
		t.Fatalf("identity response must be the origin's bytes")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
