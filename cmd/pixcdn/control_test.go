package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/control"
)

const testControlToken = "control-token-for-tests"

// startControl runs a control plane with its embedded NATS on loopback ports of its own.
func startControl(t *testing.T, dataDir string) *control.Server {
	t.Helper()
	s, err := control.Start(control.Config{Listen: "127.0.0.1:0", Token: testControlToken, DataDir: dataDir, NATSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// countingOrigin serves every path with a cacheable body naming how often it was asked.
type countingOrigin struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newCountingOrigin(t *testing.T) *countingOrigin {
	o := &countingOrigin{hits: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		n := o.hits[r.URL.Path]
		o.mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fmt.Fprintf(w, "%s #%d", r.URL.Path, n)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *countingOrigin) count(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func domainsDoc(originURL string) string {
	return fmt.Sprintf("domains:\n  - name: img.test\n    origin:\n      servers: [{url: %q}]\n", originURL)
}

// controlNode is the configuration of a node run by the control plane at natsURL.
func controlNode(t *testing.T, name, natsURL, cacheDir string) *config.Config {
	t.Helper()
	stateDir := filepath.Join(cacheDir, "control")
	if cacheDir == "" {
		stateDir = t.TempDir()
	}
	doc := fmt.Sprintf("node_name: %s\npop: pop-%s\nlisten: 127.0.0.1:0\nadmin: {listen: \"127.0.0.1:0\"}\ncontrol: {nats: %q, state_dir: %q}\n",
		name, name, natsURL, stateDir)
	if cacheDir != "" {
		doc += fmt.Sprintf("cache: {dir: %q}\n", filepath.Join(cacheDir, "cache"))
	}
	cfg, err := config.Parse([]byte(doc), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// ctl runs a pixcdn command against the control plane s and returns its exit code and output.
func ctl(t *testing.T, s *control.Server, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	verb := args[0]
	full := append([]string{verb}, args[1:]...)
	if verb == "config" {
		full = append([]string{"config", args[1], "-control", "http://" + s.Addr(), "-token", testControlToken}, args[2:]...)
	} else {
		full = append([]string{verb, "-control", "http://" + s.Addr(), "-token", testControlToken}, args[1:]...)
	}
	code := run(full, &out, &errb)
	return code, out.String(), errb.String()
}

func pushDoc(t *testing.T, s *control.Server, doc string, extra ...string) (int, string, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "domains.yaml")
	os.WriteFile(f, []byte(doc), 0o644)
	return ctl(t, s, append(append([]string{"config", "push"}, extra...), f)...)
}

// get asks an edge for path on img.test and returns the body and Cache-Status.
func get(t *testing.T, edgeAddr, path string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+edgeAddr+path, nil)
	req.Host = "img.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Cache-Status")
}

func waitLive(t *testing.T, s *control.Server, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d live nodes", n), func() bool {
		live := 0
		for _, v := range s.Nodes() {
			if v.Live {
				live++
			}
		}
		return live == n
	})
}

func TestControlPurgeFiveEdges(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	if code, out, errs := pushDoc(t, s, domainsDoc(origin.URL), "-m", "first", "-wait", "0s"); code != 0 || !strings.Contains(out, "version 1 stored") {
		t.Fatalf("push: %d %q %q", code, out, errs)
	}
	var edges []running
	for i := range 5 {
		r, _ := startServe(t, controlNode(t, fmt.Sprintf("e%d", i), s.NATSURL(), ""))
		edges = append(edges, r)
	}
	waitLive(t, s, 5)
	for _, e := range edges {
		for range 2 {
			if code, body, _ := get(t, e.edge.Addr(), "/a.jpg"); code != 200 || !strings.HasPrefix(body, "/a.jpg") {
				t.Fatalf("%d %q", code, body)
			}
		}
	}
	if n := origin.count("/a.jpg"); n != 5 {
		t.Fatalf("origin asked %d times, want once per edge", n)
	}
	code, out, errs := ctl(t, s, "purge", "img.test/a.jpg")
	if code != 0 || !strings.Contains(out, "on 5 node(s)") {
		t.Fatalf("purge: %d %q %q", code, out, errs)
	}
	for i := range 5 {
		if !strings.Contains(out, fmt.Sprintf("  e%d ", i)) {
			t.Errorf("no line for e%d in %q", i, out)
		}
	}
	if n := strings.Count(out, "applied, held 1 of 1\n"); n != 5 { // each had its own copy
		t.Errorf("%d nodes say they held the URL, want 5: %q", n, out)
	}
	for _, e := range edges {
		if _, _, cs := get(t, e.edge.Addr(), "/a.jpg"); !strings.Contains(cs, "fwd=") {
			t.Errorf("after the purge: Cache-Status %q, want a miss", cs)
		}
	}
	if n := origin.count("/a.jpg"); n != 10 {
		t.Fatalf("origin asked %d times after the purge, want 10", n)
	}
	// The nodes report the version they run, and a prefetch is done once per node (no cluster:
	// every node is its own POP).
	for _, v := range s.Nodes() {
		if v.Version != 1 || v.POP == "" || v.HTTP == "" {
			t.Errorf("node %+v", v)
		}
	}
	if code, out, errs := ctl(t, s, "prefetch", "http://img.test/b.jpg"); code != 0 || !strings.Contains(out, "through 5 node(s), 0 failed") {
		t.Fatalf("prefetch: %d %q %q", code, out, errs)
	}
	if n := origin.count("/b.jpg"); n != 5 {
		t.Fatalf("prefetch: origin asked %d times, want 5", n)
	}
}

func TestControlStoppedEdgeAppliesMissedPurge(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL), "-wait", "0s")
	dirA, dirB := t.TempDir(), t.TempDir()
	a, _ := startServe(t, controlNode(t, "a", s.NATSURL(), dirA))
	b, stopB := startServe(t, controlNode(t, "b", s.NATSURL(), dirB))
	waitLive(t, s, 2)
	get(t, a.edge.Addr(), "/x.jpg")
	get(t, b.edge.Addr(), "/x.jpg")
	if code := stopB(); code != 0 {
		t.Fatalf("b exited %d", code)
	}
	waitLive(t, s, 1) // b said it leaves
	code, out, _ := ctl(t, s, "purge", "img.test/x.jpg")
	if code != 0 || !strings.Contains(out, "on 1 node(s)") || !strings.Contains(out, "b ") || !strings.Contains(out, "away") {
		t.Fatalf("purge with b away: %d %q", code, out)
	}
	before := origin.count("/x.jpg")
	// b comes back on its disk cache, which still holds /x.jpg: the purge it missed is
	// applied before it serves, so the object is fetched again.
	b2, _ := startServe(t, controlNode(t, "b", s.NATSURL(), dirB))
	if _, _, cs := get(t, b2.edge.Addr(), "/x.jpg"); !strings.Contains(cs, "fwd=") {
		t.Fatalf("b served %q after returning: the purge it missed was not applied", cs)
	}
	if origin.count("/x.jpg") != before+1 {
		t.Fatalf("origin count %d, want %d", origin.count("/x.jpg"), before+1)
	}
	// Its acknowledgement reached the control plane too, late.
	id := purgeID(t, out)
	waitUntil(t, "b's late acknowledgement", func() bool {
		ans, ok := s.PurgeStatus(id)
		return ok && len(ans.Acks) == 2
	})
	// And an object it cached before, not purged, is still a hit from its disk.
	get(t, a.edge.Addr(), "/y.jpg")
}

// purgeID reads the ID out of "pixcdn purge -control" output.
func purgeID(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "(id ")
	id, _, ok2 := strings.Cut(rest, ",")
	if !ok || !ok2 {
		t.Fatalf("no id in %q", out)
	}
	return id
}

func TestControlRefusesBadConfigAndReportsNodeFailures(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL), "-wait", "0s")
	e, _ := startServe(t, controlNode(t, "n1", s.NATSURL(), ""))
	waitLive(t, s, 1)

	// A document with errors is refused with each problem's line; no version is stored.
	for bad, want := range map[string]string{
		"    imagez: {}\n": ":5: domains[0].imagez: unknown field",
		"    cache: {heuristic_percent: 200}\n    compress: {encodings: [lzma]}\n": "must be from 0 to 100\n  ",
	} {
		code, _, errs := pushDoc(t, s, domainsDoc(origin.URL)+bad)
		if code != 1 || !strings.Contains(errs, "400 Bad Request: configuration refused") || !strings.Contains(errs, want) ||
			strings.Contains(want, "100") && !strings.Contains(errs, ":6: domains[0].compress.encodings[0]") {
			t.Fatalf("bad push: %d %q, want %q", code, errs, want)
		}
	}
	if code, out, _ := ctl(t, s, "config", "history"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("history after a refused push: %q", out)
	}

	// A document only the node can fail (a certificate needs a TLS listener it does not have):
	// stored, refused there with the node's reason, and the node keeps serving version 1.
	dir := t.TempDir()
	tlsDoc := domainsDoc(origin.URL) + fmt.Sprintf("    tls: {cert: %q, key: %q}\n", filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"))
	code, out, _ := pushDoc(t, s, tlsDoc, "-wait", "10s")
	if code != 1 || !strings.Contains(out, "version 2 stored") || !strings.Contains(out, "n1") || !strings.Contains(out, "failed") ||
		!strings.Contains(out, "keeps version 1") || !strings.Contains(out, "control v2") {
		t.Fatalf("node-only failure: %d %q", code, out)
	}
	if code, _, _ := get(t, e.edge.Addr(), "/still.jpg"); code != 200 {
		t.Fatalf("node stopped serving after a refused version: %d", code)
	}
	var nodes struct{ Nodes []control.NodeView }
	getJSON(t, s, "/api/nodes", &nodes)
	if len(nodes.Nodes) != 1 || nodes.Nodes[0].Failed != 2 || !strings.Contains(nodes.Nodes[0].FailedError, "cannot load key pair") {
		t.Fatalf("nodes: %+v", nodes)
	}
	readyz := httpGet(t, "http://"+e.adminAddr+"/readyz")
	if !strings.Contains(readyz, "control connected") || !strings.Contains(readyz, "control_version 1") || !strings.Contains(readyz, "control_refused 2") {
		t.Fatalf("readyz: %q", readyz)
	}

	// A good version then serves, and a rollback to 1 is version 4, run everywhere.
	doc3 := strings.Replace(domainsDoc(origin.URL), "img.test", "img.test\n    aliases: [other.test]", 1)
	if code, out, _ := pushDoc(t, s, doc3, "-wait", "10s"); code != 0 || !strings.Contains(out, "running") {
		t.Fatalf("push 3: %d %q", code, out)
	}
	if code, out, _ := ctl(t, s, "config", "rollback", "1"); code != 0 || !strings.Contains(out, "version 4 stored") || !strings.Contains(out, "running") {
		t.Fatalf("rollback: %d %q", code, out)
	}
	code, out, _ = ctl(t, s, "config", "history")
	if code != 0 || !strings.Contains(out, "*    4") || !strings.Contains(out, "rollback to version 1") {
		t.Fatalf("history: %q", out)
	}
	if code, out, _ := ctl(t, s, "config", "show", "3"); code != 0 || !strings.Contains(out, "other.test") {
		t.Fatalf("show 3: %q", out)
	}
}

func TestEdgeServesWithoutNATS(t *testing.T) {
	data := t.TempDir()
	s, err := control.Start(control.Config{Listen: "127.0.0.1:0", Token: testControlToken, DataDir: data, NATSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL), "-wait", "0s")
	dir := t.TempDir()
	e, stop := startServe(t, controlNode(t, "solo", s.NATSURL(), dir))
	waitLive(t, s, 1)
	if code, _, _ := get(t, e.edge.Addr(), "/a.jpg"); code != 200 {
		t.Fatal(code)
	}
	s.Close() // NATS goes away with it
	if code, _, _ := get(t, e.edge.Addr(), "/b.jpg"); code != 200 {
		t.Fatalf("without NATS: %d", code)
	}
	waitUntil(t, "readyz to say so", func() bool {
		return strings.Contains(httpGet(t, "http://"+e.adminAddr+"/readyz"), "control disconnected since")
	})
	metrics := httpGet(t, "http://"+e.adminAddr+"/metrics")
	if !strings.Contains(metrics, "pixcdn_control_connected 0") || !strings.Contains(metrics, "pixcdn_control_config_version 1") {
		t.Fatalf("metrics without NATS:\n%s", grepLines(metrics, "pixcdn_control"))
	}
	stop()
	// Restarted with NATS still down, it serves the version it kept, not nothing.
	e2, _ := startServe(t, controlNode(t, "solo", s.NATSURL(), dir))
	if code, body, _ := get(t, e2.edge.Addr(), "/c.jpg"); code != 200 || !strings.HasPrefix(body, "/c.jpg") {
		t.Fatalf("restart without NATS: %d %q", code, body)
	}
}

func getJSON(t *testing.T, s *control.Server, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+testControlToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestControlLiveStats(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL), "-wait", "0s")
	var edges []running
	for _, name := range []string{"s1", "s2"} {
		r, _ := startServe(t, controlNode(t, name, s.NATSURL(), ""))
		edges = append(edges, r)
	}
	waitLive(t, s, 2)
	// Requests keep coming until both nodes' samples show them, merged for the domain.
	waitUntil(t, "live stats from both nodes", func() bool {
		for _, e := range edges {
			get(t, e.edge.Addr(), "/live.jpg")
		}
		l := s.Stats().Latest()
		d, ok := l.Domains["img.test"]
		return len(l.Nodes) == 2 && ok && d.Requests > 0 && d.Hits > 0 && l.Nodes["s1"].POP == "pop-s1"
	})
	// The same as Server-Sent Events, through the API.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.Addr()+"/api/stats?stream=1", nil)
	req.Header.Set("Authorization", "Bearer "+testControlToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	buf := make([]byte, 0, 64<<10)
	for !bytes.Contains(buf, []byte("event: stats")) || !bytes.Contains(buf, []byte(`"s2"`)) {
		tmp := make([]byte, 4096)
		n, err := resp.Body.Read(tmp)
		if err != nil {
			t.Fatalf("stream: %v after %q", err, buf)
		}
		buf = append(buf, tmp[:n]...)
	}
}

func TestControlPrefetchOncePerPOP(t *testing.T) {
	s := startControl(t, t.TempDir())
	origin := newCountingOrigin(t)
	pushDoc(t, s, domainsDoc(origin.URL), "-wait", "0s")
	ports, err := freePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	seed := "127.0.0.1:" + ports[0]
	var nodes []running
	for i := range 3 {
		cfg := controlNode(t, fmt.Sprintf("p%d", i), s.NATSURL(), "")
		cfg.POP = "one-pop"
		cfg.Cluster = config.Cluster{PeerListen: "127.0.0.1:" + ports[3+i], Bind: "127.0.0.1:" + ports[i],
			Secret: "a-cluster-secret-for-tests", HotRate: 10}
		if i > 0 {
			cfg.Cluster.Join = []string{seed}
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		r, _ := startServe(t, cfg)
		nodes = append(nodes, r)
	}
	waitLive(t, s, 3)
	waitUntil(t, "every node to see the POP's 3 members", func() bool {
		for _, n := range nodes {
			if !strings.Contains(httpGet(t, "http://"+n.adminAddr+"/readyz"), "members p0 p1 p2") {
				return false
			}
		}
		return true
	})
	var urls []string
	for i := range 12 {
		urls = append(urls, fmt.Sprintf("http://img.test/pf%d.jpg", i))
	}
	code, out, errs := ctl(t, s, append([]string{"prefetch"}, urls...)...)
	if code != 0 || !strings.Contains(out, "prefetched 12 URL(s) through 3 node(s), 0 failed") {
		t.Fatalf("prefetch: %d %q %q", code, out, errs)
	}
	for i := range 12 {
		if n := origin.count(fmt.Sprintf("/pf%d.jpg", i)); n != 1 {
			t.Errorf("pf%d.jpg fetched %d times for one POP", i, n)
		}
	}
	// Each URL was assigned to one node, and every node of the POP now serves it without the origin.
	for _, n := range nodes {
		get(t, n.edge.Addr(), "/pf3.jpg")
	}
	if n := origin.count("/pf3.jpg"); n != 1 {
		t.Errorf("after prefetch, the POP asked the origin %d times for pf3.jpg", n)
	}
}
