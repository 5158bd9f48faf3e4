package origin

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/origin/s3test"
	"github.com/pixcdn/pixcdn/internal/testenv"
)

// One versitygw serves every S3 test of the package; each test makes its own bucket.
var shared struct {
	once sync.Once
	srv  *s3test.Server
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Close()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func s3Server(t *testing.T) *s3test.Server {
	t.Helper()
	bin, err := s3test.Binary()
	if err != nil {
		testenv.MissingTool(t, err.Error())
	}
	shared.once.Do(func() {
		if shared.dir, shared.err = os.MkdirTemp("", "pixcdn-s3test-"); shared.err == nil {
			shared.srv, shared.err = s3test.Start(bin, shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

var bucketSeq atomic.Int64

// newBucket creates a fresh bucket holding objects (key → body), with Content-Type and
// Cache-Control set on each.
func newBucket(t *testing.T, srv *s3test.Server, objects map[string][]byte) string {
	t.Helper()
	ctx := context.Background()
	bucket := fmt.Sprintf("pixcdn-%d", bucketSeq.Add(1))
	if err := srv.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	for key, body := range objects {
		h := http.Header{"Content-Type": {"application/x-test"}, "Cache-Control": {"max-age=123"}}
		if strings.HasSuffix(key, ".jpg") {
			h.Set("Content-Type", "image/jpeg")
		}
		if err := srv.PutObject(ctx, bucket, key, body, h); err != nil {
			t.Fatal(err)
		}
	}
	return bucket
}

func newS3Origin(t *testing.T, srv *s3test.Server, bucket string, mod func(*S3Config)) *S3 {
	t.Helper()
	cfg := S3Config{Endpoint: srv.Endpoint, Bucket: bucket, Region: srv.Region, PathStyle: true,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// s3Get fetches key (the decoded URL path without "/") with optional header pairs.
func s3Get(t *testing.T, o Origin, method, key string, kv ...string) (*http.Response, []byte, error) {
	t.Helper()
	req := httptest.NewRequest(method, "/?w=300&fm=webp", nil)
	req.URL.Path = "/" + key
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Add(kv[i], kv[i+1])
	}
	return do(t, o, req)
}

var awkwardKeys = []string{
	"img/cat.jpg",
	"with space.txt",
	"plus+sign+and=equals&amp.txt",
	"ünïcødé/猫 🐈.png",
	"reserved!$'()*,;:@[].txt",
	"percent%2Fliteral%20.txt",
	"tilde~dash-dot.under_score",
}

func TestS3PrivateBucket(t *testing.T) {
	srv := s3Server(t)
	objects := map[string][]byte{}
	for i, k := range awkwardKeys {
		body := make([]byte, 1000+i*7919)
		for j := range body {
			body[j] = byte(rand.IntN(256))
		}
		objects[k] = body
	}
	bucket := newBucket(t, srv, objects)
	s := newS3Origin(t, srv, bucket, nil)
	for _, key := range awkwardKeys {
		t.Run(key, func(t *testing.T) {
			resp, body, err := s3Get(t, s, "GET", key, "Cookie", "session=1", "Authorization", "Bearer client")
			mustStatus(t, resp, err, 200)
			if !bytes.Equal(body, objects[key]) {
				t.Fatalf("got %d bytes, not the %d stored", len(body), len(objects[key]))
			}
			wantType := "application/x-test"
			if strings.HasSuffix(key, ".jpg") {
				wantType = "image/jpeg"
			}
			if resp.Header.Get("Content-Type") != wantType || resp.Header.Get("Cache-Control") != "max-age=123" ||
				resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" ||
				resp.ContentLength != int64(len(objects[key])) {
				t.Errorf("headers %v, length %d", resp.Header, resp.ContentLength)
			}
			for name := range resp.Header {
				if strings.HasPrefix(strings.ToLower(name), "x-amz-") {
					t.Errorf("leaked %s", name)
				}
			}
			if resp.Request.Header.Get("X-Amz-Date") != "" || resp.Request.Header.Get("Authorization") != "Bearer client" {
				// The client's own request, never the signed one.
				t.Errorf("response.Request is not the client's request")
			}
		})
	}
}

func TestS3Answers(t *testing.T) {
	srv := s3Server(t)
	bucket := newBucket(t, srv, map[string][]byte{"a.txt": []byte("hello"), "site/index.html": []byte("<p>")})
	s := newS3Origin(t, srv, bucket, nil)

	// versitygw compares If-Modified-Since with the file's sub-second mtime and ignores dates
	// in the future, so give the object (a plain file of the posix backend) a whole-second
	// mtime in the past; then its exact Last-Modified must give 304, as on AWS.
	mtime := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(srv.Dir, bucket, "a.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	resp, _, err := s3Get(t, s, "GET", "a.txt")
	mustStatus(t, resp, err, 200)
	etag := resp.Header.Get("ETag")
	lm, err := http.ParseTime(resp.Header.Get("Last-Modified"))
	if err != nil || !lm.Equal(mtime) {
		t.Fatalf("Last-Modified %v (%v), want the file's mtime %v", lm, err, mtime)
	}
	ims := lm.Format(http.TimeFormat)
	older := lm.Add(-time.Hour).Format(http.TimeFormat)

	tests := []struct {
		name, method, key string
		kv                []string
		status            int
	}{
		{"missing", "GET", "nope.txt", nil, 404},
		{"missing head", "HEAD", "nope.txt", nil, 404},
		{"root never lists", "GET", "", nil, 404},
		{"head", "HEAD", "a.txt", nil, 200},
		{"etag", "GET", "a.txt", []string{"If-None-Match", etag}, 304},
		{"other etag", "GET", "a.txt", []string{"If-None-Match", `"0123"`}, 200},
		{"if-modified-since", "GET", "a.txt", []string{"If-Modified-Since", ims}, 304},
		{"modified since", "GET", "a.txt", []string{"If-Modified-Since", older}, 200},
		{"post", "POST", "a.txt", nil, 405},
		{"put", "PUT", "a.txt", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := s3Get(t, s, tt.method, tt.key, tt.kv...)
			mustStatus(t, resp, err, tt.status)
			if bytes.Contains(body, []byte("<Error>")) || bytes.Contains(body, []byte("<?xml")) {
				t.Errorf("S3 XML leaked: %q", body)
			}
			if tt.method == "HEAD" && tt.status == 200 && (len(body) != 0 || resp.Header.Get("Content-Length") != "5") {
				t.Errorf("HEAD: body %q, Content-Length %q", body, resp.Header.Get("Content-Length"))
			}
			// versitygw sends its 304 without ETag (AWS includes it); when present it must match.
			if e := resp.Header.Get("ETag"); tt.status == 304 && e != "" && e != etag {
				t.Errorf("304 ETag %q, want %q", e, etag)
			}
		})
	}

	prefixed := newS3Origin(t, srv, bucket, func(c *S3Config) { c.Prefix = "site/" })
	resp, body, err := s3Get(t, prefixed, "GET", "index.html")
	mustStatus(t, resp, err, 200)
	if string(body) != "<p>" {
		t.Fatalf("prefixed body %q", body)
	}
}

func TestS3MisconfigurationIsAnError(t *testing.T) {
	srv := s3Server(t)
	bucket := newBucket(t, srv, map[string][]byte{"a.txt": []byte("hello")})
	tests := []struct {
		name string
		mod  func(*S3Config)
	}{
		{"wrong secret", func(c *S3Config) { c.SecretKey = "wrong" }},
		{"unknown access key", func(c *S3Config) { c.AccessKey = "nobody" }},
		{"no such bucket", func(c *S3Config) { c.Bucket = "pixcdn-never-created" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s3Get(t, newS3Origin(t, srv, bucket, tt.mod), "GET", "a.txt")
			mustKind(t, err, KindUnavailable)
		})
	}
	// HEAD answers carry no error body, so a bad signature cannot be told from a denial.
	resp, _, err := s3Get(t, newS3Origin(t, srv, bucket, tests[0].mod), "HEAD", "a.txt")
	mustStatus(t, resp, err, 403)
}

func TestS3PublicBucket(t *testing.T) {
	srv := s3Server(t)
	bucket := newBucket(t, srv, map[string][]byte{"pub.txt": []byte("public")})
	anon := newS3Origin(t, srv, bucket, func(c *S3Config) { c.AccessKey, c.SecretKey = "", "" })

	resp, _, err := s3Get(t, anon, "GET", "pub.txt")
	mustStatus(t, resp, err, 403) // private bucket, unsigned: a plain denial

	if err := srv.PutBucketPolicy(context.Background(), bucket, s3test.PublicReadPolicy(bucket)); err != nil {
		t.Fatal(err)
	}
	resp, body, err := s3Get(t, anon, "GET", "pub.txt", "Authorization", "AWS4-HMAC-SHA256 Credential=x", "Cookie", "a=b")
	mustStatus(t, resp, err, 200)
	if string(body) != "public" {
		t.Fatalf("body %q", body)
	}
	resp, _, err = s3Get(t, anon, "GET", "missing.txt")
	if err == nil && resp.StatusCode != 404 && resp.StatusCode != 403 {
		t.Fatalf("missing key on a public bucket: %d", resp.StatusCode)
	}
}

func TestS3EscapeKey(t *testing.T) {
	tests := map[string]string{
		"a/b.jpg":        "a/b.jpg",
		"with space":     "with%20space",
		"a+b":            "a%2Bb",
		"猫":              "%E7%8C%AB",
		"x=y&z":          "x%3Dy%26z",
		"~-._":           "~-._",
		"100%":           "100%25",
		"a//b":           "a//b",
		"q?#":            "q%3F%23",
		"paren(s)*'!$,;": "paren%28s%29%2A%27%21%24%2C%3B",
	}
	for in, want := range tests {
		if got := escapeS3Key(in); got != want || got != s3test.EscapeKey(in) {
			t.Errorf("escapeS3Key(%q) = %q, want %q (s3test: %q)", in, got, want, s3test.EscapeKey(in))
		}
	}
}

func FuzzEscapeS3Key(f *testing.F) {
	for _, k := range awkwardKeys {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		esc := escapeS3Key(key)
		back, err := url.PathUnescape(esc)
		if err != nil || back != key {
			t.Fatalf("escapeS3Key(%q) = %q does not decode back (%q, %v)", key, esc, back, err)
		}
		if esc != s3test.EscapeKey(key) {
			t.Fatalf("origin and s3test disagree on %q", key)
		}
	})
}

func TestS3RequestURL(t *testing.T) {
	tests := []struct {
		cfg  S3Config
		want string
	}{
		{S3Config{Endpoint: "https://s3.us-east-1.amazonaws.com", Bucket: "imgs"}, "https://imgs.s3.us-east-1.amazonaws.com/p/a%20b%2B.jpg"},
		{S3Config{Endpoint: "http://127.0.0.1:7070", Bucket: "imgs", PathStyle: true}, "http://127.0.0.1:7070/imgs/p/a%20b%2B.jpg"},
		{S3Config{Endpoint: "https://oss-cn-hangzhou.aliyuncs.com/", Bucket: "b", Prefix: "p/"}, "https://b.oss-cn-hangzhou.aliyuncs.com/p/p/a%20b%2B.jpg"},
	}
	for _, tt := range tests {
		s, err := NewS3(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/x?q=1", nil)
		req.Header.Set("Cookie", "c=1")
		req.Header.Set("If-None-Match", `"e"`)
		out, err := s.request(req, s.cfg.Prefix+"p/a b+.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if out.URL.String() != tt.want || out.Host != out.URL.Host {
			t.Errorf("%+v: URL %s, want %s", tt.cfg, out.URL, tt.want)
		}
		if out.Header.Get("Cookie") != "" || out.Header.Get("If-None-Match") != `"e"` || out.Header.Get("Authorization") != "" {
			t.Errorf("headers sent: %v", out.Header)
		}
	}
}

func TestS3ConfigValidate(t *testing.T) {
	bad := []S3Config{
		{},
		{Endpoint: "ftp://x", Bucket: "b"},
		{Endpoint: "http://x/path", Bucket: "b"},
		{Endpoint: "http://x"},
		{Endpoint: "http://x", Bucket: "a/b"},
		{Endpoint: "http://x", Bucket: "b", AccessKey: "k"},
		{Endpoint: "http://x", Bucket: "b", ResponseTimeout: -1},
	}
	for i, cfg := range bad {
		if _, err := NewS3(cfg); err == nil {
			t.Errorf("config %d accepted: %+v", i, cfg)
		}
	}
}

func TestS3PassHeadersAreCanonical(t *testing.T) {
	for _, h := range s3PassHeaders {
		if http.CanonicalHeaderKey(h) != h {
			t.Errorf("%q is not canonical", h)
		}
	}
}
