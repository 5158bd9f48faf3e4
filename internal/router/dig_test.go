package router

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/testenv"
)

const testZone = "cdn.pixcdn.test"

// needDig finds dig (Debian's dnsutils; a failure without it: testenv.MissingTool).
func needDig(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dig")
	if err != nil {
		testenv.MissingTool(t, "dig is not installed: sudo apt-get install dnsutils")
	}
	return p
}

// dig runs dig against the router and returns its output.
func dig(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, needDig(t), append([]string{"@" + host, "-p", port, "+tries=1", "+time=2"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// healthServer is a node's /readyz that can fail or be killed.
type healthServer struct {
	*httptest.Server
	failing atomic.Bool
	probes  atomic.Int64
}

func newHealth(t *testing.T) *healthServer {
	h := &healthServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.probes.Add(1)
		if h.failing.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}))
	t.Cleanup(h.Close)
	return h
}

// testRouter runs a router over the test coverage and a nodes file whose fra and iad nodes
// have health servers; big is a POP of 30 IPv6 nodes for large answers.
type testRouter struct {
	*Router
	health map[string]*healthServer
	nodes  string // the nodes file
}

func startRouter(t *testing.T, interval time.Duration, answers int) *testRouter {
	t.Helper()
	dir := t.TempDir()
	tr := &testRouter{health: map[string]*healthServer{}}
	var b strings.Builder
	b.WriteString("domains: [img.example.com]\ndefault_pop: iad\npops:\n")
	for _, pop := range []struct {
		name string
		n    int
	}{{"fra", 3}, {"iad", 2}} {
		fmt.Fprintf(&b, "  - name: %s\n    nodes:\n", pop.name)
		for i := 1; i <= pop.n; i++ {
			name := fmt.Sprintf("%s-%d", pop.name, i)
			h := newHealth(t)
			tr.health[name] = h
			fmt.Fprintf(&b, "      - {name: %s, ipv4: 192.0.2.%d, ipv6: \"2001:db8:%s::%d\", health: %q}\n", name,
				map[string]int{"fra": 10, "iad": 20}[pop.name]+i, map[string]string{"fra": "f", "iad": "a"}[pop.name], i, h.URL+"/readyz")
		}
	}
	b.WriteString("  - name: big\n    nodes:\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "      - {name: big-%02d, ipv6: \"2001:db8:b16::%d\"}\n", i, i)
	}
	tr.nodes = filepath.Join(dir, "nodes.yaml")
	os.WriteFile(tr.nodes, []byte(b.String()), 0o644)
	cov := filepath.Join(dir, "zones.json")
	os.WriteFile(cov, []byte(strings.Replace(testCoverage, `"nrt": {"network": []`, `"big": {"network": ["100.100.0.0/16"]}, "nrt": {"network": []`, 1)), 0o644)
	r, err := New(Config{Zone: testZone, NodesFile: tr.nodes, CoverageFile: cov, DNSListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0",
		MetricsListen: "127.0.0.1:0", ProbeInterval: interval, Answers: answers})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	tr.Router = r
	tr.waitHealthy(t, 5)
	return tr
}

// waitHealthy waits until n nodes with probes are in the answers.
func (tr *testRouter) waitHealthy(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tb := tr.table.Load()
		got := 0
		for _, p := range tb.pops {
			for _, x := range p.healthy {
				if x.Health != "" {
					got++
				}
			}
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d probed nodes healthy, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDNSWithDig(t *testing.T) {
	needDig(t)
	tr := startRouter(t, 200*time.Millisecond, 2)
	addr := tr.Addr("dns")
	name := "img.example.com." + testZone
	// ECS places the client's network; the answer is scoped to the prefix used.
	out := dig(t, addr, "+subnet=198.51.100.0/24", name, "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "flags: qr aa") || strings.Count(out, "IN\tA\t192.0.2.1") != 2 ||
		!strings.Contains(out, "CLIENT-SUBNET: 198.51.100.0/24/24") {
		t.Fatalf("fra by ECS:\n%s", out)
	}
	out = dig(t, addr, "+subnet=203.0.113.0/24", "+short", name, "A")
	if strings.Count(out, "192.0.2.2") != 2 {
		t.Fatalf("iad by ECS: %q", out)
	}
	out = dig(t, addr, "+subnet=2001:db8:1::/48", "+short", name, "AAAA")
	if !strings.Contains(out, "2001:db8:f::") {
		t.Fatalf("fra by IPv6 ECS: %q", out)
	}
	// Without ECS the resolver's own address (loopback: no zone) gives the default POP.
	if out := dig(t, addr, "+short", name, "A"); strings.Count(out, "192.0.2.2") != 2 {
		t.Fatalf("default POP: %q", out)
	}
	if out := dig(t, addr, "+subnet=198.51.100.0/24", "+short", name, "TXT"); !strings.Contains(out, "pop=fra reason=coverage") {
		t.Fatalf("TXT: %q", out)
	}
	// A node's own name, where HTTP mode sends clients.
	if out := dig(t, addr, "+short", "fra-2.img.example.com."+testZone, "A"); strings.TrimSpace(out) != "192.0.2.12" {
		t.Fatalf("node name: %q", out)
	}
	// Unknown names under the zone: NXDOMAIN with the SOA; outside it: REFUSED.
	if out := dig(t, addr, "nope.example.com."+testZone, "A"); !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "SOA") {
		t.Fatalf("NXDOMAIN:\n%s", out)
	}
	if out := dig(t, addr, "www.example.org", "A"); !strings.Contains(out, "status: REFUSED") {
		t.Fatalf("REFUSED:\n%s", out)
	}
	if out := dig(t, addr, testZone, "SOA"); !strings.Contains(out, "ns1."+testZone+". hostmaster."+testZone+".") {
		t.Fatalf("SOA:\n%s", out)
	}
	if out := dig(t, addr, "+short", testZone, "NS"); strings.TrimSpace(out) != "ns1."+testZone+"." {
		t.Fatalf("NS: %q", out)
	}
}

func TestDNSTruncatesToTCP(t *testing.T) {
	needDig(t)
	tr := startRouter(t, 200*time.Millisecond, 30)
	// 30 AAAA records do not fit 512 bytes: TC over UDP, and dig asks again over TCP.
	out := dig(t, tr.Addr("dns"), "+bufsize=512", "+subnet=100.100.0.0/16", "img.example.com."+testZone, "AAAA")
	if !strings.Contains(out, "Truncated, retrying in TCP mode") || strings.Count(out, "IN\tAAAA\t2001:db8:b16::") != 30 {
		t.Fatalf("TCP fallback:\n%s", out)
	}
	out = dig(t, tr.Addr("dns"), "+tcp", "+short", "+subnet=100.100.0.0/16", "img.example.com."+testZone, "AAAA")
	if strings.Count(out, "2001:db8:b16::") != 30 {
		t.Fatalf("over TCP: %q", out)
	}
}

func TestNodeLeavesAndReturns(t *testing.T) {
	needDig(t)
	const interval = 100 * time.Millisecond
	tr := startRouter(t, interval, 3)
	addr := tr.Addr("dns")
	name := "img.example.com." + testZone
	fraAnswer := func() string { return dig(t, addr, "+short", "+subnet=198.51.100.0/24", name, "A") }
	if out := fraAnswer(); !strings.Contains(out, "192.0.2.11") {
		t.Fatalf("fra-1 not answered at start: %q", out)
	}
	// fra-1 starts failing: it is out after the second failed probe (fall 2), so within 3
	// probe intervals; counted in probes, not in time.
	h := tr.health["fra-1"]
	h.failing.Store(true)
	before := h.probes.Load()
	tr.waitHealthy(t, 4)
	if n := h.probes.Load() - before; n > 3 {
		t.Errorf("fra-1 left the answers after %d failed probes, want at most 3", n)
	}
	if out := fraAnswer(); strings.Contains(out, "192.0.2.11") {
		t.Fatalf("fra-1 still answered: %q", out)
	}
	// It recovers: back after 3 passing probes (rise 3).
	h.failing.Store(false)
	tr.waitHealthy(t, 5)
	// Killed outright (connections refused), it leaves too; the whole POP gone overflows to iad.
	for _, n := range []string{"fra-1", "fra-2", "fra-3"} {
		tr.health[n].Close()
	}
	tr.waitHealthy(t, 2)
	if out := dig(t, addr, "+short", "+subnet=198.51.100.0/24", name, "TXT"); !strings.Contains(out, "pop=iad reason=overflow") {
		t.Fatalf("overflow: %q", out)
	}
	metrics := httpGetBody(t, "http://"+tr.Addr("metrics")+"/metrics")
	for _, want := range []string{`pixcdn_router_answers_total{mode="dns",pop="iad",reason="overflow"}`, `pixcdn_router_node_up{node="fra-1",pop="fra"} 0`,
		`pixcdn_router_answers_total{mode="dns",pop="fra",reason="coverage"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestHTTPRedirects(t *testing.T) {
	tr := startRouter(t, 200*time.Millisecond, 2)
	base := "http://" + tr.Addr("http")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path, host string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Host = host
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	var mu sync.Mutex
	seen := map[string]string{}
	for i := range 40 {
		path := fmt.Sprintf("/photos/%d.jpg?w=300", i)
		resp := get(http.MethodGet, path, "img.example.com", nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://iad-") || !strings.HasSuffix(loc, ".img.example.com."+testZone+path) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, loc)
		}
		mu.Lock()
		seen[path] = loc
		mu.Unlock()
		if again := get(http.MethodHead, path, "img.example.com", nil).Header.Get("Location"); again != loc {
			t.Fatalf("%s went to %s, then %s", path, loc, again)
		}
	}
	nodes := map[string]bool{}
	for _, loc := range seen {
		nodes[strings.SplitN(strings.TrimPrefix(loc, "http://"), ".", 2)[0]] = true
	}
	if len(nodes) != 2 {
		t.Errorf("40 URLs over the 2 iad nodes went to %v", nodes)
	}
	if resp := get(http.MethodGet, "/a.jpg", "img.example.com", nil); !strings.Contains(resp.Header.Get("X-Pixcdn-Route"), "pop=iad reason=fallback") {
		t.Errorf("route header %q", resp.Header.Get("X-Pixcdn-Route"))
	}
	if resp := get(http.MethodGet, "/a.jpg", "img.example.com", map[string]string{"Accept": "application/json"}); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := get(http.MethodGet, "/a.jpg", "other.example.com", nil); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("unknown domain: %d", resp.StatusCode)
	}
	if resp := get(http.MethodPost, "/a.jpg", "img.example.com", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func TestReloadKeepsRunningFilesOnError(t *testing.T) {
	tr := startRouter(t, 200*time.Millisecond, 2)
	good, _ := os.ReadFile(tr.nodes)
	os.WriteFile(tr.nodes, []byte("pops: [{name: x, nodes: [{name: y, ipv4: nope}]}]\n"), 0o644)
	if err := tr.Reload(); err == nil || !strings.Contains(err.Error(), "nodes.yaml:1: pops[0].nodes[0].ipv4") {
		t.Fatalf("bad reload: %v", err)
	}
	if len(tr.table.Load().pops) != 3 {
		t.Fatal("a refused reload changed the table")
	}
	os.WriteFile(tr.nodes, []byte(strings.Replace(string(good), "  - name: big", "  - name: ams\n    nodes: [{name: ams-1, ipv4: 192.0.2.41}]\n  - name: big", 1)), 0o644)
	if err := tr.Reload(); err != nil || len(tr.table.Load().pops) != 4 {
		t.Fatalf("reload: %v", err)
	}
}

func httpGetBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
