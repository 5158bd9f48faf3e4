package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/nginx"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// httpRouter is the router the DNS part started (its -http listener), reused here.
var httpRouter *routerRun

// wrkResult is one wrk run against one server.
type wrkResult struct {
	load, server  string
	round         int
	rps           float64
	p50, p99      time.Duration
	errors, nonOK int64
	bytesPerReq   float64
	cpu           time.Duration // the server's, per request
	other         float64
}

// httpLoads are the two request sets: one URL, and 1000 paths (each its node by rendezvous
// hashing in the router).
var httpLoads = []struct{ name, script, path string }{
	{"one URL /photos/a.jpg?w=300", "report.lua", "/photos/a.jpg?w=300"},
	{"1000 paths /photos/2026/N", "paths.lua", "/"},
}

// httpPart measures the HTTP 302 mode with wrk, against nginx answering the same 302.
func httpPart(work, bin string) ([]wrkResult, error) {
	dir := filepath.Join(work, "http")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	rr := httpRouter
	if rr == nil {
		nodes, cov, err := writeFiles(dir, func(int, int) string { return "" })
		if err != nil {
			return nil, err
		}
		if rr, err = startRouter(dir, bin, nodes, cov, 2, time.Second, *inprocess, 2); err != nil {
			return nil, err
		}
		defer rr.stop()
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	ng, ngURL, err := startNginx(dir)
	if err != nil {
		return nil, err
	}
	defer stopProcs([]*proc{ng})
	for name, base := range map[string]string{"router": "http://" + rr.http, "nginx": ngURL} {
		loc, err := probe302(base + "/photos/a.jpg?w=300")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(os.Stderr, "router bench: %s answers 302 Location %s\n", name, loc)
	}
	fmt.Printf("## HTTP 302 mode: wrk against `pixcdn router -http` and nginx `return 302`\n\n")
	fmt.Printf("`wrk -t2 -c64 -d%v --latency -H 'Host: %s'`, router and nginx alternating, %d rounds; the second load uses `bench/wrk/paths.lua` (`WRK_PATH_PREFIX=/photos/2026/ WRK_PATH_COUNT=1000`). nginx %s: `worker_processes auto`, `access_log off`, `keepalive_requests 1000000`, `location / { return 302 http://iad-1.%s.%s$request_uri; }`. The router's client is loopback: reason=fallback, the default POP iad, the URL's node among its 4 by rendezvous hashing. Load average before: %s.\n\n",
		*duration, domain, *rounds, nginx.Version(), domain, zone, loadAvg())
	var out []wrkResult
	for round := 1; round <= *rounds; round++ {
		for _, l := range httpLoads {
			for _, srv := range []struct {
				name, base string
				cpu        func() time.Duration
			}{{"router", "http://" + rr.http, rr.cpu}, {"nginx", ngURL, func() time.Duration { return procstat.TreeCPU(ng.Pid()) }}} {
				r, err := wrkRun(root, dir, l.script, srv.base+l.path, srv.cpu)
				if err != nil {
					return out, fmt.Errorf("%s %s: %w", srv.name, l.name, err)
				}
				r.load, r.server, r.round = l.name, srv.name, round
				out = append(out, r)
				fmt.Fprintf(os.Stderr, "router bench: http %s %s round %d: %.0f req/s p50 %v p99 %v, %.1f µs/req, other CPU %.0f %%\n", l.name, srv.name, round, r.rps, r.p50, r.p99, us(r.cpu), r.other)
			}
		}
	}
	printHTTP(out)
	return out, nil
}

// probe302 checks that base answers a 302 and returns its Location.
func probe302(url string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Host = domain
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("GET %s: %s, want 302", url, resp.Status)
	}
	return resp.Header.Get("Location"), nil
}

func wrkRun(root, dir, script, url string, cpu func() time.Duration) (wrkResult, error) {
	var r wrkResult
	out := filepath.Join(dir, fmt.Sprintf("wrk-%d.txt", time.Now().UnixNano()))
	env := []string{"WRK_PATH_PREFIX=/photos/2026/", "WRK_PATH_COUNT=1000"}
	w := startCPU(cpu)
	toolCPU, err := runTool(*duration+30*time.Second, "wrk", out, env, "", "wrk", "-t2", "-c64", "-d"+strconv.Itoa(int(duration.Seconds()))+"s", "--latency",
		"-H", "Host: "+domain, "-s", filepath.Join(root, "bench", "wrk", script), url)
	if err != nil {
		return r, err
	}
	srv, other := w.End(toolCPU)
	r.other = other
	data, _ := os.ReadFile(out)
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "RESULT ") {
			line = l
		}
	}
	if line == "" {
		return r, fmt.Errorf("no RESULT line in %s:\n%s", out, tail(data, 1000))
	}
	kv := map[string]float64{}
	for _, f := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(f, "=")
		kv[k], _ = strconv.ParseFloat(v, 64)
	}
	r.rps, r.p50, r.p99 = kv["rps"], time.Duration(kv["p50_us"])*time.Microsecond, time.Duration(kv["p99_us"])*time.Microsecond
	r.errors, r.nonOK = int64(kv["errors"]), int64(kv["status_errors"])
	if n := kv["requests"]; n > 0 {
		r.bytesPerReq, r.cpu = kv["bytes"]/n, srv/time.Duration(n)
	}
	return r, nil
}

// startNginx runs nginx as the current user from a generated config answering every request
// with the 302 the router gives.
func startNginx(dir string) (*proc, string, error) {
	port := freePort()
	ndir := filepath.Join(dir, "nginx")
	os.MkdirAll(filepath.Join(ndir, "tmp"), 0o755)
	user := ""
	if os.Getuid() == 0 { // as root, nginx would hand its workers to "nobody"
		user = "user root root;"
	}
	conf := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
%[2]s
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    server {
        listen 127.0.0.1:%[3]d;
        location / { return 302 http://iad-1.%[4]s.%[5]s$request_uri; }
    }
}
`, ndir, user, port, domain, zone)
	cf := filepath.Join(ndir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	p, err := startServer("nginx", filepath.Join(ndir, "nginx.log"), nginx.Bin(), "-p", ndir, "-c", cf, "-g", "daemon off;")
	if err != nil {
		return nil, "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := probe302(base + "/"); err == nil {
			return p, base, nil
		} else if time.Now().After(deadline) || p.Exited() {
			stopProcs([]*proc{p})
			log, _ := os.ReadFile(filepath.Join(ndir, "nginx.log"))
			return nil, "", fmt.Errorf("nginx did not answer: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func printHTTP(rs []wrkResult) {
	fmt.Println("| load | server | round | req/s | p50 ms | p99 ms | socket errors | non-2xx/3xx | bytes/answer | server CPU µs/req | other CPU % |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Printf("| %s | %s | %d | %.0f | %s | %s | %d | %d | %.0f | %.1f | %.0f |\n", r.load, r.server, r.round, r.rps, ms3(r.p50), ms3(r.p99), r.errors, r.nonOK, r.bytesPerReq, us(r.cpu), r.other)
	}
	fmt.Println()
	fmt.Println("| load | round | router / nginx req/s | router / nginx CPU per request |")
	fmt.Println("|---|---|---|---|")
	for i := 0; i+1 < len(rs); i += 2 {
		a, b := rs[i], rs[i+1]
		fmt.Printf("| %s | %d | **%.2fx** | %.2fx |\n", a.load, a.round, a.rps/b.rps, float64(a.cpu)/float64(b.cpu))
	}
	fmt.Println()
}
