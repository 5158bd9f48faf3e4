package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/demo"
	"github.com/pixcdn/pixcdn/internal/origin/s3test"
	"github.com/pixcdn/pixcdn/internal/testenv"
)

func TestUsageAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage:") {
		t.Fatalf("no args: %d %q", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "pixcdn ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run([]string{"nope"}, &out, &errb); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("domains:\n  - name: example.com\n    origin:\n      root: "+dir+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("domains:\n  - name: example.com\n    origin:\n      servers:\n        - url: ftp://x\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"config", "check", good}, &out, &errb); code != 0 || !strings.Contains(out.String(), "ok") {
		t.Fatalf("good: %d %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	code := run([]string{"config", "check", bad}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), bad+":5: domains[0].origin.servers[0].url") {
		t.Fatalf("bad: %d %q", code, errb.String())
	}
}

// startServe runs serve(cfg) until the test ends or stop is called; stop returns the exit code.
func startServe(t *testing.T, cfg *config.Config) (r running, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan running, 1)
	done := make(chan int, 1)
	var logs io.Writer = io.Discard
	if os.Getenv("PIXCDN_TEST_LOG") != "" { // the nodes' logs, when a test needs looking into
		logs = os.Stderr
	}
	go func() { done <- serve(ctx, cfg, logs, func(r running) { ready <- r }) }()
	select {
	case r = <-ready:
	case code := <-done:
		t.Fatalf("edge exited with %d", code)
	}
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("edge exited with %d", code)
		}
	})
	return r, stop
}

// runEdge serves cfg until the test ends and returns the edge's base URL.
func runEdge(t *testing.T, cfg *config.Config) string {
	r, _ := startServe(t, cfg)
	return "http://" + r.edge.Addr()
}

func fetch(t *testing.T, url string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = "any-host.example" // the one-line start serves every Host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	return string(b), resp.Header.Get("Cache-Status")
}

func TestOneLineDirectoryOrigin(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "hello.txt"), []byte("from disk"), 0o644)
	o := oneLine{origin: root, listen: "127.0.0.1:0", cacheDir: t.TempDir()}
	cfg, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	base := runEdge(t, cfg)
	if body, cs := fetch(t, base+"/hello.txt"); body != "from disk" || !strings.Contains(cs, "stored") {
		t.Fatalf("%q %q", body, cs)
	}
}

func TestOneLineHTTPOriginSendsOriginHost(t *testing.T) {
	var seenHost string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenHost = r.Host
		w.Write([]byte("ok"))
	}))
	defer origin.Close()
	srv := origin.URL
	ol := oneLine{origin: srv, listen: "127.0.0.1:0"}
	cfg, err := ol.config()
	if err != nil {
		t.Fatal(err)
	}
	base := runEdge(t, cfg)
	fetch(t, base+"/x")
	if !strings.HasPrefix(srv, "http://"+seenHost) {
		t.Fatalf("origin saw Host %q, want the origin's own %s", seenHost, srv)
	}
}

// An origin that sends no caching headers: without -default-ttl every response is stored
// stale (no Last-Modified, no heuristic) and each request goes back to it; with it, the second
// request is a hit with the default's lifetime left.
func TestOneLineDefaultTTL(t *testing.T) {
	var fetches atomic.Int32
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write([]byte("plain"))
	}))
	defer origin.Close()
	for _, tc := range []struct {
		ttl         time.Duration
		wantFetches int32
		wantStatus  string
	}{
		{0, 2, "fwd=stale"},
		{time.Hour, 1, "hit; ttl=3"}, // 3600 or a second less, by the wall clock
	} {
		fetches.Store(0)
		ol := oneLine{origin: origin.URL, listen: "127.0.0.1:0", defaultTTL: tc.ttl}
		cfg, err := ol.config()
		if err != nil {
			t.Fatal(err)
		}
		base := runEdge(t, cfg)
		fetch(t, base+"/page")
		_, cs := fetch(t, base+"/page")
		if fetches.Load() != tc.wantFetches || !strings.Contains(cs, tc.wantStatus) {
			t.Errorf("-default-ttl %v: %d origin fetches, Cache-Status %q; want %d and %q", tc.ttl, fetches.Load(), cs, tc.wantFetches, tc.wantStatus)
		}
	}
}

func TestOneLineS3Origin(t *testing.T) {
	bin, err := s3test.Binary()
	if err != nil {
		testenv.MissingTool(t, err.Error())
	}
	s3, err := s3test.Start(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	ctx := context.Background()
	if err := s3.CreateBucket(ctx, "media"); err != nil {
		t.Fatal(err)
	}
	if err := s3.PutObject(ctx, "media", "site/logo.svg", []byte("<svg/>"), http.Header{"Content-Type": {"image/svg+xml"}}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	ol := oneLine{origin: "s3://media/site", listen: "127.0.0.1:0", s3Endpoint: s3.Endpoint}
	cfg, err := ol.config()
	if err != nil {
		t.Fatal(err)
	}
	base := runEdge(t, cfg)
	if body, cs := fetch(t, base+"/logo.svg"); body != "<svg/>" || !strings.Contains(cs, "stored") {
		t.Fatalf("%q %q", body, cs)
	}
	if _, cs := fetch(t, base+"/logo.svg"); !strings.Contains(cs, "hit") {
		t.Fatalf("second request: %q", cs)
	}
}

func TestDemoServesSiteAndCaches(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	for _, im := range demo.Images { // stand-ins: painting is tested in internal/demo
		p := filepath.Join(site, filepath.FromSlash(im.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("jpeg stand-in"), 0o644)
	}
	if err := demo.WriteSite(site); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(demo.Config("127.0.0.1:0", site, filepath.Join(dir, "cache")), "(demo)")
	if err != nil {
		t.Fatal(err)
	}
	base := runEdge(t, cfg)
	for _, p := range []string{"/", "/style.css", "/app.js", "/" + demo.Images[0].Name} {
		if _, cs := fetch(t, base+p); !strings.Contains(cs, "fwd=uri-miss") {
			t.Fatalf("first load of %s: %q", p, cs)
		}
		if _, cs := fetch(t, base+p); !strings.Contains(cs, "hit") {
			t.Fatalf("second load of %s: %q", p, cs)
		}
	}
	page, _ := fetch(t, base+"/")
	if !strings.Contains(page, "/style.css") || !strings.Contains(page, demo.Images[0].Name) {
		t.Fatal("page does not reference its assets")
	}
}

func TestReloadKeepsOldConfigOnErrorAndTheCache(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("one"), 0o644)
	root2 := t.TempDir()
	os.WriteFile(filepath.Join(root2, "f.txt"), []byte("two"), 0o644)
	file := filepath.Join(t.TempDir(), "pixcdn.yaml")
	write := func(doc string) {
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("listen: 127.0.0.1:0\ndomains:\n  - name: \"*\"\n    origin: {root: " + root + "}\n")
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := startServe(t, cfg)
	srv, base := r.edge, "http://"+r.edge.Addr()
	if body, _ := fetch(t, base+"/f.txt"); body != "one" {
		t.Fatal(body)
	}
	write("domains:\n  - name: \"*\"\n    origin: {rot: /nope}\n") // broken: rejected
	if err := reloadFile(file, srv, nil, nil); err == nil || !strings.Contains(err.Error(), "pixcdn.yaml:3") {
		t.Fatalf("broken config accepted or error without line: %v", err)
	}
	if body, _ := fetch(t, base+"/f.txt"); body != "one" {
		t.Fatal("old configuration lost after a failed reload")
	}
	write("listen: 127.0.0.1:0\ndomains:\n  - name: \"*\"\n    origin: {root: " + root2 + "}\n")
	if err := reloadFile(file, srv, nil, nil); err != nil {
		t.Fatal(err)
	}
	if body, _ := fetch(t, base+"/f.txt?new-key"); body != "two" { // a new key: filled from the new origin
		t.Fatalf("after reload: %q", body)
	}
	if body, cs := fetch(t, base+"/f.txt"); body != "one" || !strings.Contains(cs, "hit") { // cached before: kept
		t.Fatalf("cached object lost by the reload: %q %q", body, cs)
	}
}

// TestPurgeThroughTheAdminAPI runs the one-line start with an admin listener and purges with
// the CLI, as an operator would.
func TestPurgeThroughTheAdminAPI(t *testing.T) {
	var version atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "all")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	defer origin.Close()
	ol := oneLine{origin: origin.URL, listen: "127.0.0.1:0", admin: "127.0.0.1:0", adminToken: "s3cret"}
	cfg, err := ol.config()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := startServe(t, cfg)
	base := "http://" + r.edge.Addr()
	fetch(t, base+"/a")
	fetch(t, base+"/b")
	version.Add(1)
	t.Setenv("PIXCDN_ADMIN", "http://"+r.adminAddr)
	var out, errb bytes.Buffer
	if code := run([]string{"purge", "-token", "wrong", "any-host.example/a"}, &out, &errb); code == 0 {
		t.Fatal("a wrong token was accepted")
	}
	t.Setenv("PIXCDN_ADMIN_TOKEN", "s3cret")
	out.Reset()
	if code := run([]string{"purge", "any-host.example/a", "any-host.example/never"}, &out, &errb); code != 0 {
		t.Fatalf("purge: %d %s", code, errb.String())
	}
	// It says what it found: /a was cached on this node, /never was not.
	if got := out.String(); !strings.Contains(got, "any-host.example/a: deleted on "+cfg.NodeName+"\n") ||
		!strings.Contains(got, "any-host.example/never: not cached\n") {
		t.Fatalf("purge output %q", got)
	}
	if body, _ := fetch(t, base+"/a"); body != "v1" {
		t.Fatalf("/a after purge: %q", body)
	}
	if body, cs := fetch(t, base+"/b"); body != "v0" || !strings.Contains(cs, "hit") {
		t.Fatalf("/b: %q %q", body, cs)
	}
	if code := run([]string{"purge", "-tag", "all"}, &out, &errb); code != 0 {
		t.Fatalf("tag purge: %d %s", code, errb.String())
	}
	if body, _ := fetch(t, base+"/b"); body != "v1" {
		t.Fatalf("/b after tag purge: %q", body)
	}
	out.Reset()
	if code := run([]string{"prefetch", "any-host.example/c", "any-host.example/d"}, &out, &errb); code != 0 {
		t.Fatalf("prefetch: %d %s %s", code, out.String(), errb.String())
	}
	if _, cs := fetch(t, base+"/c"); !strings.Contains(cs, "hit") {
		t.Fatalf("/c after prefetch: %q", cs)
	}
}

// TestSignals sends the process SIGHUP (reload) and SIGUSR1 (reopen the access log) as an
// operator's systemctl reload and logrotate would.
func TestSignals(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f.txt"), []byte("one"), 0o644)
	dir := t.TempDir()
	file, logFile := filepath.Join(dir, "pixcdn.yaml"), filepath.Join(dir, "access.log")
	doc := func(cacheRule string) string {
		return fmt.Sprintf("listen: 127.0.0.1:0\nlog: {access_log: %q}\ndomains:\n  - name: \"*\"\n    origin: {root: %q}\n    cache: {rules: [{extensions: [.txt], ttl: %s}]}\n", logFile, root, cacheRule)
	}
	os.WriteFile(file, []byte(doc("1h")), 0o644)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, stop := startServe(t, cfg)
	base := "http://" + r.edge.Addr()
	if _, cs := fetch(t, base+"/f.txt"); !strings.Contains(cs, "ttl=3599") && !strings.Contains(cs, "ttl=3600") {
		t.Fatalf("before reload: %s", cs)
	}
	os.WriteFile(file, []byte(doc("2h")), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	poll := 0
	waitUntil(t, "the reload", func() bool {
		poll++ // a new key each time: a cached answer would keep its old TTL
		_, cs := fetch(t, fmt.Sprintf("%s/f.txt?poll=%d", base, poll))
		return strings.Contains(cs, "ttl=7199") || strings.Contains(cs, "ttl=7200")
	})
	os.Rename(logFile, logFile+".1") // logrotate moves the file...
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	waitUntil(t, "the reopened access log", func() bool {
		fetch(t, base+"/f.txt")
		_, err := os.Stat(logFile) // ...and the edge writes a new one
		return err == nil
	})
	// The file exists once the log reopened it; a request logged before that went to the old
	// file. This one comes after, so it must be in the new file once the node has stopped.
	fetch(t, base+"/f.txt")
	stop()
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), `"/f.txt"`) {
		t.Fatalf("new access log: %q", b)
	}
}

// waitUntil polls cond (state of another goroutine the test cannot be told about) until it
// holds, failing after a generous deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestSignCommandMatchesTheEdge(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("signed content"), 0o644)
	file := filepath.Join(t.TempDir(), "pixcdn.yaml")
	os.WriteFile(file, []byte(`listen: 127.0.0.1:0
domains:
  - name: img.example.com
    origin: {root: `+root+`}
    access:
      sign: {type: A, keys: ["aliyuncdnexp1234"], ttl: 1h}
`), 0o644)
	var out, errb bytes.Buffer
	// The published type A vector: ts 1444435200, rand 0, uid 0.
	if code := run([]string{"sign", "-config", file, "-time", "2015-10-10T00:00:00Z", "img.example.com/video/standard/1K.html"}, &out, &errb); code != 0 {
		t.Fatalf("%d %s", code, errb.String())
	}
	if want := "auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f"; !strings.Contains(out.String(), want) {
		t.Fatalf("signed %q, want %s", out.String(), want)
	}
	out.Reset()
	run([]string{"sign", "-config", file, "http://img.example.com/a.txt"}, &out, &errb)
	cfg, _ := config.Load(file)
	base := runEdge(t, cfg)
	u, _ := url.Parse(strings.TrimSpace(out.String()))
	req, _ := http.NewRequest(http.MethodGet, base+u.RequestURI(), nil)
	req.Host = "img.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "signed content" {
		t.Fatalf("edge answered %d %q to %s", resp.StatusCode, body, u.RequestURI())
	}
}

func TestOneLineImagesAndCompressionFlags(t *testing.T) {
	for _, tc := range []struct {
		o                        oneLine
		images, compress, format bool
	}{
		{oneLine{origin: "http://127.0.0.1:1", listen: "127.0.0.1:0"}, true, true, false},
		{oneLine{origin: "http://127.0.0.1:1", listen: "127.0.0.1:0", noImages: true, noCompress: true}, false, false, false},
		{oneLine{origin: "http://127.0.0.1:1", listen: "127.0.0.1:0", autoFormat: true}, true, true, true},
	} {
		cfg, err := tc.o.config()
		if err != nil {
			t.Fatal(err)
		}
		d := cfg.Domains[0]
		if d.Images.Enabled != tc.images || d.Compress.Enabled != tc.compress || d.Images.AutoFormat != tc.format {
			t.Errorf("%+v: images %v compress %v auto_format %v", tc.o, d.Images.Enabled, d.Compress.Enabled, d.Images.AutoFormat)
		}
	}
}

// Every subcommand answers -h with its help and exit status 0.
func TestEverySubcommandAnswersHelp(t *testing.T) {
	for _, args := range [][]string{{"demo"}, {"edge"}, {"control"}, {"router"}, {"config", "check"}, {"config", "push"},
		{"config", "history"}, {"purge"}, {"prefetch"}, {"sign"}, {"help"}} {
		var out, errb bytes.Buffer
		code := run(append(args, "-h"), &out, &errb)
		if code != 0 || !strings.Contains(strings.ToLower(out.String()+errb.String()), "usage") {
			t.Errorf("%v -h: exit %d, %q", args, code, out.String()+errb.String())
		}
	}
}

// The shipped example names a certificate and S3 variables of the machine it is meant for: the
// check says so, validates the rest, and -portable passes it.
func TestConfigCheckShippedExample(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"config", "check", "../../examples/pixcdn.yaml"}, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "valid, except what this machine lacks") || !strings.Contains(out.String(), "domains[0].tls.cert") || errb.Len() != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"config", "check", "-portable", "../../examples/pixcdn.yaml"}, &out, &errb); code != 0 {
		t.Fatalf("-portable: exit %d %s", code, errb.String())
	}
	// A document problem beside a machine one: both reported, as errors.
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	os.WriteFile(f, []byte("domains:\n  - name: a.example.com\n    origin: {root: /nonexistent}\n    cache: {heuristic_percent: 200}\n"), 0o644)
	errb.Reset()
	if code := run([]string{"config", "check", "-portable", f}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "heuristic_percent") || !strings.Contains(errb.String(), "/nonexistent") {
		t.Fatalf("mixed: exit %d %s", code, errb.String())
	}
}
