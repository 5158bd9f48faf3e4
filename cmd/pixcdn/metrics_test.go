package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
)

// scrape returns the admin /metrics samples as "name{labels}" → value.
func scrape(t *testing.T, adminAddr, token string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

// TestMetricsAndAccessLogAfterAScript drives a known sequence of hits, misses, a coalesced
// herd, an origin error and a purge, then checks the counters the admin API exposes and the
// access log lines.
func TestMetricsAndAccessLogAfterAScript(t *testing.T) {
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			<-release
		case "/broken":
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprint(w, strings.Repeat("x", 100))
	}))
	defer origin.Close()
	logFile := filepath.Join(t.TempDir(), "access.log")
	doc := fmt.Sprintf(`listen: 127.0.0.1:0
admin: {listen: 127.0.0.1:0, token: tok}
log: {access_log: %q}
domains:
  - name: "*"
    origin: {servers: [{url: %q}]}
`, logFile, origin.URL)
	cfgFile := filepath.Join(t.TempDir(), "pixcdn.yaml")
	os.WriteFile(cfgFile, []byte(doc), 0o644)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	r, stop := startServe(t, cfg)
	base := "http://" + r.edge.Addr()
	get := func(path string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("/a") // miss
	get("/a") // hit
	get("/a") // hit
	get("/b") // miss
	get("/broken")
	herd := make(chan struct{})
	for range 5 {
		go func() { get("/slow"); herd <- struct{}{} }()
	}
	for deadline := time.Now().Add(10 * time.Second); r.edge.StatsSnapshot()["coalesced"] < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("herd did not gather")
		}
	}
	close(release)
	for range 5 {
		<-herd
	}
	m := scrape(t, r.adminAddr, "tok")
	want := map[string]string{
		`pixcdn_requests_total{cache="hit",code_class="2xx",domain="*"}`:            "2",
		`pixcdn_requests_total{cache="miss",code_class="2xx",domain="*"}`:           "7", // /a, /b and the 5 of /slow
		`pixcdn_requests_total{cache="miss",code_class="5xx",domain="*"}`:           "1", // the origin's own 503, passed on
		`pixcdn_response_bytes_total{cache="hit",domain="*"}`:                       "200",
		`pixcdn_coalesced_waiters_total{domain="*"}`:                                "4",
		`pixcdn_origin_requests_total{origin="* ` + origin.URL + `",outcome="ok"}`:  "3",
		`pixcdn_origin_requests_total{origin="* ` + origin.URL + `",outcome="5xx"}`: "1",
		`pixcdn_request_duration_seconds_count{cache="hit",domain="*"}`:             "2",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %s", k, m[k], v)
		}
	}
	for _, series := range []string{"go_goroutines", "process_resident_memory_bytes", `pixcdn_store_objects{tier="memory"}`, `pixcdn_store_bytes{tier="disk"}`,
		fmt.Sprintf(`pixcdn_origin_server_up{origin="*",server=%q}`, origin.URL)} {
		if _, ok := m[series]; !ok {
			t.Errorf("series %s missing", series)
		}
	}
	stop() // the access log is drained and closed on the way out

	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d access log lines, want 10:\n%s", len(lines), data)
	}
	var first struct {
		Method, URI, Cache, Domain string
		Status                     int
		Bytes                      int64
	}
	if err := json.Unmarshal([]byte(lines[1]), &first); err != nil {
		t.Fatal(err)
	}
	if first.URI != "/a" || first.Status != 200 || first.Cache != "hit" || first.Bytes != 100 || first.Domain != "*" {
		t.Fatalf("second line: %+v (%s)", first, lines[1])
	}
}

func TestRequestMetricsCanBeTurnedOff(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644)
	cfg, err := config.Parse([]byte("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\nlog: {metrics: false}\ndomains:\n  - name: \"*\"\n    origin: {root: "+root+"}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := startServe(t, cfg)
	fetch(t, "http://"+r.edge.Addr()+"/f")
	m := scrape(t, r.adminAddr, "")
	for k := range m {
		if strings.HasPrefix(k, "pixcdn_requests_total") {
			t.Fatalf("request series with log.metrics false: %s", k)
		}
	}
	if _, ok := m[`pixcdn_store_objects{tier="memory"}`]; !ok {
		t.Fatal("store series missing")
	}
}
