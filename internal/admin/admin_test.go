package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pixcdn/pixcdn/internal/admin"
	"github.com/pixcdn/pixcdn/internal/admin/admintest"
)

const token = "s3cret-token"

// start serves the admin API for e on 127.0.0.1:0 until the test ends and returns its base URL.
func start(t *testing.T, cfg admin.Config, e admin.Edge) (*admin.Server, string) {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	s, err := admin.New(cfg, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, "http://" + s.Addr()
}

// call sends one request and returns the status, headers and body.
func call(t *testing.T, method, url, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func jsonError(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", body, err)
	}
	return e.Error
}

var protected = []struct {
	method, path, body string
	want               int // with the right token
}{
	{"POST", "/purge", `{"kind":"url","targets":["img.example.com/a.jpg"]}`, 200},
	{"POST", "/prefetch", `{"urls":["https://img.example.com/a.jpg"]}`, 200},
	{"POST", "/reload", ``, 200},
	{"GET", "/metrics", ``, 200},
	{"GET", "/stats", ``, 200},
	{"GET", "/debug/pprof/heap", ``, 200},
	{"GET", "/debug/pprof/trace?seconds=0.05", ``, 200},
	{"GET", "/nope", ``, 404},
	{"GET", "/purge", ``, 405},
}

func fullConfig(tok string) admin.Config {
	return admin.Config{
		Token:   tok,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pixcdn_up 1\n") }),
		Stats:   func() any { return map[string]int{"hits": 3} },
	}
}

func TestTokenOnEveryProtectedEndpoint(t *testing.T) {
	e := &admintest.Edge{}
	_, base := start(t, fullConfig(token), e)
	for _, ep := range protected {
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token, "Bearer " + token + "x", "Bearer"} {
			code, h, body := call(t, ep.method, base+ep.path, auth, ep.body)
			if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), `Bearer realm="pixcdn-admin"`) {
				t.Errorf("%s %s auth %q: %d %q", ep.method, ep.path, auth, code, h.Get("WWW-Authenticate"))
			}
			if body != "{\n  \"error\": \"unauthorized\"\n}\n" {
				t.Errorf("%s %s auth %q: body %q says more than unauthorized", ep.method, ep.path, auth, body)
			}
		}
		for _, auth := range []string{"Bearer " + token, "bearer " + token} {
			if code, _, body := call(t, ep.method, base+ep.path, auth, ep.body); code != ep.want {
				t.Errorf("%s %s auth %q: %d, want %d: %s", ep.method, ep.path, auth, code, ep.want, body)
			}
		}
	}
	if len(e.Purges()) != 2 || len(e.Prefetched()) != 2 || e.Reloads() != 2 {
		t.Errorf("refused requests reached the edge: %d purges, %d prefetches, %d reloads", len(e.Purges()), len(e.Prefetched()), e.Reloads())
	}
}

func TestHealthIsOpen(t *testing.T) {
	e := &admintest.Edge{}
	_, base := start(t, fullConfig(token), e)
	if code, _, body := call(t, "GET", base+"/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, _, body := call(t, "GET", base+"/readyz", "Bearer wrong", ""); code != 200 || body != "ready\nconfig_version 0123456789abcdef\n" {
		t.Errorf("readyz: %d %q", code, body)
	}
	e.NotReady.Store(true)
	if code, _, body := call(t, "GET", base+"/readyz", "", ""); code != 503 || !strings.HasPrefix(body, "not ready\n") {
		t.Errorf("readyz when not ready: %d %q", code, body)
	}
	if code, _, _ := call(t, "HEAD", base+"/healthz", "", ""); code != 200 {
		t.Errorf("HEAD healthz: %d", code)
	}
}

func TestNoTokenConfigured(t *testing.T) {
	_, base := start(t, fullConfig(""), &admintest.Edge{})
	for _, ep := range protected {
		if code, _, body := call(t, ep.method, base+ep.path, "", ep.body); code != ep.want {
			t.Errorf("%s %s: %d, want %d: %s", ep.method, ep.path, code, ep.want, body)
		}
	}
}

func TestRouting(t *testing.T) {
	_, base := start(t, admin.Config{Token: token}, &admintest.Edge{})
	code, h, body := call(t, "GET", base+"/purge", "Bearer "+token, "")
	if code != 405 || h.Get("Allow") != "POST" || !strings.Contains(jsonError(t, body), "POST") {
		t.Errorf("GET /purge: %d allow %q %q", code, h.Get("Allow"), body)
	}
	for _, p := range []string{"/nope", "/metrics", "/stats"} { // no Metrics or Stats configured
		code, h, body := call(t, "GET", base+p, "Bearer "+token, "")
		if code != 404 || h.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %q", p, code, h.Get("Content-Type"))
		}
		jsonError(t, body)
	}
}

func TestMetricsAndStats(t *testing.T) {
	_, base := start(t, fullConfig(token), &admintest.Edge{})
	if code, _, body := call(t, "GET", base+"/metrics", "Bearer "+token, ""); code != 200 || body != "pixcdn_up 1\n" {
		t.Errorf("metrics: %d %q", code, body)
	}
	code, h, body := call(t, "GET", base+"/stats", "Bearer "+token, "")
	var stats map[string]int
	if err := json.Unmarshal([]byte(body), &stats); code != 200 || err != nil || stats["hits"] != 3 || h.Get("Content-Type") != "application/json" {
		t.Errorf("stats: %d %q %v", code, body, err)
	}
}

func TestReload(t *testing.T) {
	e := &admintest.Edge{}
	_, base := start(t, admin.Config{}, e)
	if code, _, body := call(t, "POST", base+"/reload", "", ""); code != 200 || !strings.Contains(body, `"ok": true`) {
		t.Errorf("reload: %d %q", code, body)
	}
	e.ReloadErr = admintest.ErrBadConfig
	code, _, body := call(t, "POST", base+"/reload", "", "")
	if code != 400 || jsonError(t, body) != admintest.ErrBadConfig.Error() {
		t.Errorf("refused reload: %d %q", code, body)
	}
	if e.Reloads() != 2 {
		t.Errorf("reloads: %d", e.Reloads())
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  admin.Config
		err  string
	}{
		{"defaults", admin.Config{}, ""},
		{"loopback v6", admin.Config{Listen: "[::1]:9090"}, ""},
		{"localhost", admin.Config{Listen: "localhost:9090"}, ""},
		{"open without token", admin.Config{Listen: ":9090"}, "not a loopback"},
		{"public without token", admin.Config{Listen: "192.0.2.1:9090"}, "not a loopback"},
		{"public with token", admin.Config{Listen: "0.0.0.0:9090", Token: "t"}, ""},
		{"no port", admin.Config{Listen: "127.0.0.1"}, "missing port"},
		{"concurrency", admin.Config{PrefetchConcurrency: -1}, "concurrency"},
		{"huge concurrency", admin.Config{PrefetchConcurrency: 5000}, "concurrency"},
		{"max urls", admin.Config{MaxPrefetchURLs: -1}, "positive"},
	} {
		err := tc.cfg.Validate()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	if _, err := admin.New(admin.Config{Listen: "127.0.0.1:0"}, nil); err == nil {
		t.Error("New without an Edge succeeded")
	}
	if _, err := admin.New(admin.Config{Listen: ":0"}, &admintest.Edge{}); err == nil {
		t.Error("New on an open address without a token succeeded")
	}
}
