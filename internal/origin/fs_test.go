package origin

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

const secret = "TOP-SECRET-OUTSIDE-ROOT"

// fsFixture makes parent/{root,outside}; root holds the site, outside a secret that symlinks
// inside root point at.
func fsFixture(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	files := map[string]string{
		"root/index.html":         "<h1>home</h1>",
		"root/style.css":          "body{}",
		"root/app.js":             "let a=1",
		"root/docs/index.html":    "<p>docs</p>",
		"root/empty/.keep":        "",
		"root/noext":              "\x89PNG\r\n\x1a\n0000",
		"root/a/b.txt":            "bee",
		"root/space name.txt":     "spaced",
		"root/%2e%2e/literal.txt": "literal percent name",
		"outside/secret.txt":      secret,
	}
	for name, body := range files {
		p := filepath.Join(parent, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"leak":        filepath.Join(parent, "outside", "secret.txt"), // absolute, out
		"leakrel":     "../outside/secret.txt",                        // relative, out
		"leakdir":     "../outside",                                   // directory, out
		"a/inside":    "../style.css",                                 // stays inside: allowed
		"a/climbback": "../../root/style.css",                         // leaves and re-enters: refused by os.Root
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFSServes(t *testing.T) {
	f, err := NewFS(FSConfig{Root: fsFixture(t), CacheControl: "max-age=60"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tests := []struct {
		method, path string
		status       int
		body, ctype  string
	}{
		{"GET", "/", 200, "<h1>home</h1>", "text/html; charset=utf-8"},
		{"GET", "/index.html", 200, "<h1>home</h1>", "text/html; charset=utf-8"},
		{"GET", "/style.css", 200, "body{}", "text/css; charset=utf-8"},
		{"GET", "/app.js", 200, "let a=1", "text/javascript; charset=utf-8"},
		{"GET", "/noext", 200, "\x89PNG\r\n\x1a\n0000", "image/png"},
		{"GET", "/docs/", 200, "<p>docs</p>", "text/html; charset=utf-8"},
		{"GET", "/docs", 200, "<p>docs</p>", "text/html; charset=utf-8"},
		{"GET", "/a/b.txt", 200, "bee", "text/plain; charset=utf-8"},
		{"GET", "/a/inside", 200, "body{}", ""},
		{"GET", "/space%20name.txt", 200, "spaced", "text/plain; charset=utf-8"},
		{"HEAD", "/style.css", 200, "", "text/css; charset=utf-8"},
		{"GET", "/missing.txt", 404, "", ""},
		{"GET", "/empty/", 404, "", ""},
		{"GET", "/a/b.txt/", 404, "", ""},
		{"GET", "/a/b.txt/x", 404, "", ""},
		{"POST", "/style.css", 405, "", ""},
		{"DELETE", "/style.css", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			resp, body, err := get(t, f, tt.method, tt.path)
			mustStatus(t, resp, err, tt.status)
			if tt.status != 200 {
				return
			}
			if string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			for _, h := range []string{"ETag", "Last-Modified", "Content-Length"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("missing %s", h)
				}
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "max-age=60" {
				t.Errorf("Cache-Control = %q", cc)
			}
		})
	}
}

func TestFSHeadHasLengthNoBody(t *testing.T) {
	f, err := NewFS(FSConfig{Root: fsFixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	resp, body, err := get(t, f, "HEAD", "/style.css")
	mustStatus(t, resp, err, 200)
	if len(body) != 0 || resp.ContentLength != 6 || resp.Header.Get("Content-Length") != "6" {
		t.Fatalf("HEAD: body %q, ContentLength %d, header %q", body, resp.ContentLength, resp.Header.Get("Content-Length"))
	}
}

func TestFSTraversalNeverLeavesRoot(t *testing.T) {
	f, err := NewFS(FSConfig{Root: fsFixture(t)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target  string // request target as a client sends it
		rawPath string // when set, URL.Path is forced to this (an edge that did not decode)
		status  int    // 0: want an error of KindBadRequest
	}{
		{target: "/../outside/secret.txt"},
		{target: "/a/../../outside/secret.txt"},
		{target: "/%2e%2e/outside/secret.txt"},
		{target: "/%2E%2E/%2e%2e/outside/secret.txt"},
		{target: "/a/%2e%2e/%2e%2e/outside/secret.txt"},
		{target: "/x", rawPath: "/..\\..\\outside\\secret.txt", status: 404},
		{target: "/x", rawPath: "/%2e%2e/outside/secret.txt", status: 404},
		{target: "/x", rawPath: "/%2e%2e/literal.txt", status: 200},
		{target: "/leak", status: 404},
		{target: "/leakrel", status: 404},
		{target: "/leakdir/secret.txt", status: 404},
		{target: "/a/climbback", status: 404},
		{target: "/a/../style.css", status: 200},
		{target: "/x", rawPath: "/style.css\x00.png"},
	}
	for _, tt := range tests {
		t.Run(tt.target+tt.rawPath, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.target, nil)
			if tt.rawPath != "" {
				req.URL.Path, req.URL.RawPath = tt.rawPath, ""
			}
			resp, body, err := do(t, f, req)
			if strings.Contains(string(body), secret) {
				t.Fatalf("served the secret outside the root")
			}
			if tt.status == 0 {
				mustKind(t, err, KindBadRequest)
				return
			}
			mustStatus(t, resp, err, tt.status)
		})
	}
}

func TestFSConditional(t *testing.T) {
	f, err := NewFS(FSConfig{Root: fsFixture(t), CacheControl: "max-age=5"})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := get(t, f, "GET", "/style.css")
	mustStatus(t, resp, err, 200)
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	lmTime, _ := http.ParseTime(lm)
	tests := []struct {
		name   string
		kv     []string
		status int
	}{
		{"etag", []string{"If-None-Match", etag}, 304},
		{"weak etag", []string{"If-None-Match", "W/" + etag}, 304},
		{"etag in list", []string{"If-None-Match", `"nope", ` + etag}, 304},
		{"star", []string{"If-None-Match", "*"}, 304},
		{"other etag", []string{"If-None-Match", `"nope"`}, 200},
		{"other etag wins over ims", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lm}, 200},
		{"ims equal", []string{"If-Modified-Since", lm}, 304},
		{"ims later", []string{"If-Modified-Since", lmTime.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"ims earlier", []string{"If-Modified-Since", lmTime.Add(-time.Second).Format(http.TimeFormat)}, 200},
		{"ims garbage", []string{"If-Modified-Since", "yesterday"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := get(t, f, "GET", "/style.css", tt.kv...)
			mustStatus(t, resp, err, tt.status)
			if tt.status == 304 {
				if len(body) != 0 || resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") != "max-age=5" {
					t.Fatalf("304: body %q, headers %v", body, resp.Header)
				}
			}
		})
	}
}

func TestFSFromMapFS(t *testing.T) {
	fsys := fstest.MapFS{
		"index.html":  {Data: []byte("<b>hi</b>")},
		"img/logo":    {Data: []byte("GIF89a....")},
		"img/x.svg":   {Data: []byte("<svg/>")},
		"sub/a.txt":   {Data: []byte("a")},
		"fifo":        {Mode: fs.ModeNamedPipe},
		"dir/nothing": {Mode: fs.ModeDir},
	}
	f := NewFSFrom(fsys, "embedded", FSConfig{})
	resp, body, err := get(t, f, "GET", "/")
	mustStatus(t, resp, err, 200)
	etag := resp.Header.Get("ETag")
	if string(body) != "<b>hi</b>" || len(etag) != 34 || resp.Header.Get("Last-Modified") != "" {
		t.Fatalf("body %q etag %q last-modified %q", body, etag, resp.Header.Get("Last-Modified"))
	}
	resp, _, err = get(t, f, "GET", "/index.html", "If-None-Match", etag)
	mustStatus(t, resp, err, 304)
	resp, _, err = get(t, f, "GET", "/index.html", "If-Modified-Since", time.Now().Format(http.TimeFormat))
	mustStatus(t, resp, err, 200) // no modification time: If-Modified-Since cannot match
	resp, body, err = get(t, f, "GET", "/img/logo")
	mustStatus(t, resp, err, 200)
	if ct := resp.Header.Get("Content-Type"); ct != "image/gif" || string(body) != "GIF89a...." {
		t.Fatalf("sniffed %q body %q", ct, body)
	}
	resp, _, err = get(t, f, "GET", "/img/x.svg")
	mustStatus(t, resp, err, 200)
	if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
		t.Fatalf("svg Content-Type %q", ct)
	}
	for _, p := range []string{"/fifo", "/dir/", "/sub/", "/nothing"} {
		resp, _, err = get(t, f, "GET", p)
		mustStatus(t, resp, err, 404)
	}
}

func TestFSUnreadableIsUnavailable(t *testing.T) {
	f := NewFSFrom(brokenFS{}, "broken", FSConfig{})
	_, _, err := get(t, f, "GET", "/x.txt")
	mustKind(t, err, KindUnavailable)
}

// brokenFS is a real fs.FS whose files exist but fail to open, like a disk with I/O errors.
type brokenFS struct{}

func (brokenFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("input/output error")}
}

func (brokenFS) Stat(name string) (fs.FileInfo, error) {
	return fstest.MapFS{name: {Data: []byte("x")}}.Stat(name)
}

func TestFSConfigValidate(t *testing.T) {
	if _, err := NewFS(FSConfig{}); err == nil {
		t.Error("empty root accepted")
	}
	if _, err := NewFS(FSConfig{Root: t.TempDir(), IndexFile: "../index.html"}); err == nil {
		t.Error("index file with .. accepted")
	}
	if _, err := NewFS(FSConfig{Root: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing root accepted")
	}
}

func TestFSName(t *testing.T) {
	tests := []struct {
		in, want string
		invalid  bool
	}{
		{"/", ".", false},
		{"", ".", false},
		{"/a/b", "a/b", false},
		{"/a//b/./c/", "a/b/c", false},
		{"/a/../b", "b", false},
		{"/..", "", true},
		{"/a/../..", "", true},
		{"/a/b/../../../c", "", true},
		{"../x", "", true},
		{"/...", "...", false},
		{"/%2e%2e", "%2e%2e", false},
		{"/caf\xe9", "", true},
		{"/a\x00b", "", true},
		{"/猫.png", "猫.png", false},
	}
	for _, tt := range tests {
		got, err := fsName(tt.in)
		if (err != nil) != tt.invalid || got != tt.want {
			t.Errorf("fsName(%q) = %q, %v; want %q, invalid %v", tt.in, got, err, tt.want, tt.invalid)
		}
	}
}

func FuzzFSName(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/../x", "/a/./b//c", "/%2e%2e/", "/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := fsName(p)
		if err != nil {
			return
		}
		if !fs.ValidPath(name) {
			t.Fatalf("fsName(%q) = %q, not a valid fs path", p, name)
		}
	})
}

func FuzzNotModified(f *testing.F) {
	f.Add(`"a", W/"b"`, "Sun, 22 Nov 2026 00:00:00 GMT", `"b"`)
	f.Add("*", "", `"x"`)
	f.Add("", "garbage", `"x"`)
	mod := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, inm, ims, etag string) {
		h := http.Header{}
		if inm != "" {
			h.Set("If-None-Match", inm)
		}
		if ims != "" {
			h.Set("If-Modified-Since", ims)
		}
		got := notModified(h, etag, mod)
		if inm == "" && ims == "" && got {
			t.Fatal("304 without a condition")
		}
		h.Set("If-None-Match", etag)
		if tag := strings.TrimSpace(etag); tag != "" && !strings.Contains(etag, ",") && !notModified(h, tag, mod) {
			t.Fatalf("If-None-Match %q does not match itself", tag)
		}
	})
}
