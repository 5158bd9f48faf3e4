package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/edgeproc"
	"github.com/pixcdn/pixcdn/bench/internal/report"
	"github.com/pixcdn/pixcdn/bench/internal/result"
	"github.com/pixcdn/pixcdn/bench/internal/stats"
)

const opsToken = "bench-admin-token"

// runOps is section 5: the access log's cost on the hit path, purge latency and reloads under
// load, on pixcdn alone (bench/cmd/ops drives the admin API).
func runOps(s *session) {
	s.measure = "ops"
	want, err := parts(s.k.opsParts, "log", "purge", "reload")
	must(err)
	if _, err := exec.LookPath("perf"); err != nil {
		progress("bench: perf not found; the metrics share is not profiled")
	}
	s.startOrigin("0s", "-gen-size", "512")
	s.rep.Para("## 5. Operations")
	s.rep.Para("pixcdn only; benchorigin with `-gen-size 512`; GOMAXPROCS=%d.", s.gomaxprocs())
	var edge *edgeproc.Edge
	if want["log"] {
		edge = s.opsLogCost()
	} else {
		edge = s.startOpsEdge("off", "")
	}
	if want["purge"] {
		s.opsPurge(edge)
	}
	if want["reload"] {
		s.opsReload(edge)
	}
	s.stopAll()
}

// opsConfig is the edge of section 5: a token-protected admin API, the access log at alog
// ("": none, and the per-request metrics off unless -ops-off-metrics, so that "on vs off" is
// both against neither) and one cache rule for /gen/r/, the one thing reloads change.
func (s *session) opsConfig(name, alog, ttl string) edgeproc.Config {
	c := edgeproc.Config{AdminToken: opsToken, CacheDir: filepath.Join(s.work, "ops-"+name+"-cache"),
		Rules: []edgeproc.Rule{{Prefix: "/gen/r/", TTL: ttl}}}
	if alog != "" {
		c.AccessLog, c.AccessFormat = alog, "json"
	} else {
		c.Metrics = &s.k.opsOffMetrics
	}
	return c
}

func (s *session) startOpsEdge(name, alog string) *edgeproc.Edge {
	return s.startEdge("ops-"+name, s.opsConfig(name, alog, "600s"))
}

// metric is the sum of every series of one metric on an edge's /metrics.
func metric(e *edgeproc.Edge, name string) int64 {
	req, _ := http.NewRequest(http.MethodGet, e.Admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := client.Do(req)
	must(err)
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"{")) {
			continue
		}
		var v float64
		fmt.Sscan(f[len(f)-1], &v)
		sum += v
	}
	return int64(sum + 0.5)
}

// opsTool runs one subcommand of bench/cmd/ops against the edge and returns its RESULT.
func (s *session) opsTool(e *edgeproc.Edge, cmd string, args ...string) result.Fields {
	out := filepath.Join(s.work, "ops-tool.out")
	s.helper(5*time.Minute, out, s.rawPath("ops-tool.err"), "ops",
		append([]string{cmd, "-url", e.URL, "-admin", e.Admin, "-token", opsToken}, args...)...)
	return s.resultOf(out, "ops-tool.out")
}

// ---------------------------------------------------------------- 5.1

// opsLogCost is 5.1: two edges, the access log on and off, wrk alternating; the access log's
// lines against the requests; the share of the hit path in metrics and logging (perf). It
// returns the 'off' edge, which the other parts use.
func (s *session) opsLogCost() *edgeproc.Edge {
	r := s.rep
	off := s.startOpsEdge("off", "")
	alog := filepath.Join(s.work, "access.log")
	on := s.startOpsEdge("on", alog)
	r.Para("### 5.1 Access log and metrics on the hit path")
	r.Para("Two edges from one config, one with `log.access_log: <temp dir>/access.log` (json) and the per-request metrics, one with neither (`log.metrics: %t`); wrk -t2 -c64 -d%s --latency on /obj/1k, %d round(s) alternating (log on, then log off); load average before: %s.",
		s.k.opsOffMetrics, secs(s.k.duration), s.k.rounds, loadavg())
	r.Line(s.checkHit("pixcdn", on.URL+"/obj/1k"))
	r.Line(s.checkHit("pixcdn", off.URL+"/obj/1k"))
	var rows []hitRow
	var wrkOn int64
	for round := 1; round <= s.k.rounds; round++ {
		row := s.hitRound("1k", "pixcdn-log-on", on.URL, fmt.Sprint(round), "", 0, cpuOf(on.Proc))
		wrkOn += row.m.Requests
		rows = append(rows, row, s.hitRound("1k", "pixcdn-log-off", off.URL, fmt.Sprint(round), "", 0, cpuOf(off.Proc)))
	}
	paced := s.opsPacedCPU(on, off)
	// Perf profiles: one more wrk run per edge, not part of the on/off ratio.
	var perfOff, perfOn string
	var wrkPerfOn int64
	if _, err := exec.LookPath("perf"); err == nil {
		perfOff, _ = s.perfUnderLoad(off, "off", "edge.(*Server).ServeHTTP", "edge.(*Server).report", "metrics.(*Metrics).Request")
		perfOn, wrkPerfOn = s.perfUnderLoad(on, "on", "edge.(*Server).ServeHTTP", "edge.(*Server).report", "metrics.(*Metrics).Request", "accesslog.(*Logger).Log", "accesslog.(*Logger).run")
	}
	requests := metric(on, "pixcdn_requests_total") // after the perf run, which added requests
	dropped := metric(on, "pixcdn_access_log_dropped_lines_total")
	s.stop(on.Proc) // SIGTERM drains the access log
	lines := countLines(alog)
	r.Line()
	t := report.NewTable("edge", "round", "req/s", "p50 ms", "p99 ms", "socket errors", "non-2xx", "origin requests", "server CPU µs/req", "other CPU %")
	for _, row := range rows {
		t.Row(append([]any{row.server, row.round}, hitCells(row.m)...)...)
	}
	r.Table(t)
	onRPS, _ := stats.Median(rowValues(rows, "pixcdn-log-on", -1, rowRPS))
	offRPS, _ := stats.Median(rowValues(rows, "pixcdn-log-off", -1, rowRPS))
	ratio := onRPS / offRPS
	met := "**not met**"
	if roundTo(ratio, 3) >= 0.95 {
		met = "met"
	}
	r.Para("Median req/s: log on %.0f, log off %.0f: ratio on/off **%.3f** (cost %.1f %%; target ≤ 5 %%: %s).", onRPS, offRPS, ratio, (1-roundTo(ratio, 3))*100, met)
	opsCleanRatio(r, rows)
	r.Line()
	r.Printf("%s", paced)
	r.Line()
	r.Para("Access log of the 'on' edge after its shutdown (drained): %d lines; pixcdn_requests_total %d; pixcdn_access_log_dropped_lines_total %d; lines + dropped - requests = %d. wrk completed %d requests in the measured rounds and %s in the perf run (plus 3 warm-up requests; wrk does not count requests still in flight when it stops).",
		lines, requests, dropped, lines+dropped-requests, wrkOn, orEmpty(wrkPerfOn, perfOn != ""))
	if perfOff != "" {
		r.Para("CPU profile (`perf record -F 999 -g -p PID -- sleep 10` during a separate 12 s wrk run on each edge; share of the edge process's samples, callees included):")
		r.Line("- log off: `" + perfOff + "`")
		r.Line("- log on: `" + perfOn + "`")
	} else {
		r.Line("perf is not installed: metrics not isolated by profile.")
	}
	r.Line()
	s.goBench("metrics-bench.txt", "`go test -run '^$' -bench '^BenchmarkRequest$' -benchmem ./internal/metrics/` (metrics.Request alone, RunParallel on 2 CPUs):",
		`^(Benchmark|ok|FAIL)`, "test", "-run", "^$", "-bench", "^BenchmarkRequest$", "-benchmem", "./internal/metrics/")
	r.Para("Load average after: %s.", loadavg())
	return off
}

func orEmpty(n int64, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprint(n)
}

func rowRPS(m measured) float64 { return m.RPS }

// rowValues are f of the rows of one server whose other CPU is at most maxOther (-1: all).
func rowValues(rows []hitRow, server string, maxOther float64, f func(measured) float64) []float64 {
	var xs []float64
	for _, row := range rows {
		if row.server == server && (maxOther < 0 || roundTo(row.m.other, 0) <= maxOther) {
			xs = append(xs, f(row.m))
		}
	}
	return xs
}

// opsCleanRatio: the on/off ratio over the undisturbed rounds only (other CPU ≤ 5 %), and the
// server CPU per request, which other load moves less than throughput.
func opsCleanRatio(r *report.Report, rows []hitRow) {
	con := rowValues(rows, "pixcdn-log-on", 5, rowRPS)
	coff := rowValues(rows, "pixcdn-log-off", 5, rowRPS)
	if len(con) > 0 && len(coff) > 0 {
		a, _ := stats.Median(con)
		b, _ := stats.Median(coff)
		r.Line(fmt.Sprintf("Undisturbed rounds only (other CPU ≤ 5 %%: %d on, %d off): log on %.0f, log off %.0f req/s, ratio **%.3f**.", len(con), len(coff), a, b, a/b))
	} else {
		r.Line(fmt.Sprintf("Undisturbed rounds only (other CPU ≤ 5 %%): %d on, %d off: no ratio (rerun when the machine is quiet).", len(con), len(coff)))
	}
	cpu := func(m measured) float64 { return roundTo(m.cpuPer(m.Requests), 1) }
	a, _ := stats.Median(rowValues(rows, "pixcdn-log-on", -1, cpu))
	b, _ := stats.Median(rowValues(rows, "pixcdn-log-off", -1, cpu))
	r.Line(fmt.Sprintf("Server CPU per request (median of all rounds): log on %s µs, log off %s µs: %+.1f %%.", num(a), num(b), (a/b-1)*100))
}

// num writes x as awk's print does (%.6g).
func num(x float64) string { return fmt.Sprintf("%.6g", x) }

// opsPacedCPU is the server CPU per request of each edge at a bounded rate (wrk -t1 with
// paced.lua: each connection waits 1 ms after each answer, far below saturation), 2 x rounds
// per edge alternating; CPU per request at a fixed rate moves far less with other load on the
// machine than throughput at saturation does. It returns the report's text.
func (s *session) opsPacedCPU(on, off *edgeproc.Edge) string {
	type paced struct {
		name, round string
		m           measured
	}
	var rows []paced
	run := func(name string, e *edgeproc.Edge, round int) {
		m := s.wrk(load{raw: fmt.Sprintf("wrk-paced-%s-%d.txt", name, round), url: e.URL + "/obj/1k", script: "paced.lua",
			threads: 1, conns: s.k.opsPacedConns, dur: s.k.opsPacedDuration, server: cpuOf(e.Proc), originPath: "/obj/1k"})
		rows = append(rows, paced{name, fmt.Sprint(round), m})
	}
	for round := 1; round <= 2*s.k.rounds; round++ {
		if round%2 == 1 {
			run("on", on, round)
			run("off", off, round)
		} else {
			run("off", off, round)
			run("on", on, round)
		}
	}
	var b strings.Builder
	r := report.New(&b)
	r.Para("Paced CPU per request (wrk -t1 -c%d -d%s -s paced.lua, %d rounds per edge alternating; server CPU µs per request, other CPU %%):",
		s.k.opsPacedConns, secs(s.k.opsPacedDuration), 2*s.k.rounds)
	t := report.NewTable("edge", "round", "req/s", "server CPU µs/req", "other CPU %")
	var cpuOn, cpuOff []float64
	for _, p := range rows {
		cpu := p.m.cpuPer(p.m.Requests)
		t.Row("log "+p.name, p.round, fmt.Sprintf("%.0f", p.m.RPS), fmt.Sprintf("%.2f", cpu), fmt.Sprintf("%.0f", p.m.other))
		if p.name == "on" {
			cpuOn = append(cpuOn, roundTo(cpu, 2))
		} else {
			cpuOff = append(cpuOff, roundTo(cpu, 2))
		}
	}
	r.Table(t)
	a, _ := stats.Median(cpuOn)
	c, _ := stats.Median(cpuOff)
	r.Line(fmt.Sprintf("Median server CPU per request at a paced rate: log on %s µs, log off %s µs: **%+.1f %%**.", num(a), num(c), (a/c-1)*100))
	return b.String()
}

// perfUnderLoad profiles an edge with perf for 10 s while a 12 s wrk loads it; it returns
// each symbol's share of the samples ("SYMBOL=x.xx%" joined by spaces) and the requests wrk
// completed.
func (s *session) perfUnderLoad(e *edgeproc.Edge, name string, symbols ...string) (string, int64) {
	done := make(chan measured, 1)
	go func() {
		done <- s.wrkQuiet(load{raw: "wrk-perf-" + name + ".txt", url: e.URL + "/obj/1k", dur: 12 * time.Second, server: cpuOf(e.Proc), limit: time.Minute})
	}()
	time.Sleep(time.Second)
	shares := s.perfShare(e.Proc.Pid(), 10*time.Second, symbols...)
	m := <-done
	return shares, m.Requests
}

// wrkQuiet is wrk for a load beside a measure: a failure gives zero numbers, not a failed run.
func (s *session) wrkQuiet(l load) (m measured) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(failure); !ok {
				panic(r)
			}
			progress("bench: %v", r.(failure).err)
		}
	}()
	return s.wrk(l)
}

// perfShare records a CPU profile of pid (perf, with call graphs) for d, then reads each
// symbol's share of the process's samples, callees included.
func (s *session) perfShare(pid int, d time.Duration, symbols ...string) string {
	data := filepath.Join(s.work, fmt.Sprintf("perf-%d.data", pid))
	if err := s.runTo(d+time.Minute, filepath.Join(s.work, "perf-record.txt"), nil, "", "perf", "record", "-F", "999", "-g", "-p", fmt.Sprint(pid),
		"-o", data, "--", "sleep", fmt.Sprint(int(d.Seconds()))); err != nil {
		return ""
	}
	rep := s.rawPath(fmt.Sprintf("perf-%d.txt", pid))
	cmd := exec.Command("perf", "report", "-i", data, "--children", "--no-demangle", "--stdio", "--sort", "symbol")
	out, _ := cmd.Output()
	os.WriteFile(rep, out, 0o644)
	var shares []string
	for _, sym := range symbols {
		shares = append(shares, sym+"="+perfSymbolShare(string(out), sym)+"%")
	}
	return strings.Join(shares, " ") + " "
}

var perfLine = regexp.MustCompile(`^ +[0-9.]+%`)

// perfSymbolShare is the "children" share (first column) of the first line of a perf report
// naming sym, "0" when none does.
func perfSymbolShare(report, sym string) string {
	for _, l := range strings.Split(report, "\n") {
		if perfLine.MatchString(l) && strings.Contains(l, sym) {
			return strings.TrimSuffix(strings.Fields(l)[0], "%")
		}
	}
	return "0"
}

// goBench runs a go test benchmark of the module and writes its summary lines in a code block
// under the heading line.
func (s *session) goBench(raw, heading, keep string, args ...string) {
	r := s.rep
	r.Para("%s", heading)
	out := s.rawPath(raw)
	s.runTo(5*time.Minute, out, nil, s.root, "go", args...)
	r.Line("```")
	r.Printf("%s", grepLines(out, keep))
	r.Line("```")
	r.Line()
}

func countLines(path string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return int64(strings.Count(string(data), "\n"))
}

// ---------------------------------------------------------------- 5.2

// opsPurge is 5.2: one URL purged 200 times, then prefixes over many objects under load.
func (s *session) opsPurge(e *edgeproc.Edge) {
	r := s.rep
	n := s.k.opsObjects
	r.Para("### 5.2 Purge latency")
	r.Para("Same edge (access log off), admin API with a bearer token; load average before: %s.", loadavg())
	u := s.opsTool(e, "purge-url", "-path", "/gen/u/1", "-reps", "200")
	r.Para("(a) One URL, 200 times: make /gen/u/1 a hit, `POST /purge {\"kind\":\"url\"}`, request it again at once (`bench/cmd/ops purge-url`).")
	t := report.NewTable("purge call p50 / p99 / max ms", "purge answer → first miss p50 / p99 / max ms", "first request after the purge not a miss")
	t.Row(msTriple(u, "purge"), msTriple(u, "miss"), fmt.Sprintf("%d of 200", u.I("first_not_miss")))
	r.Table(t)
	s.opsTool(e, "fill", "-prefix", "/gen/q/", "-n", "5000", "-c", "32")
	prefixes := report.NewTable("round", "fill", "purge call ms", "purge answer → first miss ms", "requests until that miss", "purged sample: miss / hit / other / errors", "unpurged sample: hit / miss / other / errors")
	loads := report.NewTable("wrk run (hits on /gen/q/)", "req/s", "p50 ms", "p99 ms", "socket errors", "non-2xx", "origin requests (all paths)", "server CPU µs/req", "other CPU %")
	for round := 1; round <= s.k.opsPurgeRounds; round++ {
		s.opsPrefixRound(e, n, round, prefixes, loads)
	}
	r.Para("(b) Prefix, %d round(s): each fills %d objects under its own prefix /gen/p<round>/ (`bench/cmd/ops fill`, 32 concurrent requests, benchorigin `-gen-size 512`), then two wrk runs of 10 s (-t2 -c64, bench/wrk/paths.lua cycling over /gen/q/0..999, 5000 objects filled beforehand, all hits): the first without a purge, the second with `POST /purge {\"kind\":\"prefix\",\"targets\":[\"127.0.0.1:PORT/gen/p<round>/\"]}` fired 2 s in, followed at once by requests under that prefix until one misses. After the second run, 1000 distinct random purged objects (of the %d never probed) must all miss and 1000 of the 5000 /gen/q/ objects must all hit (`bench/cmd/ops sample`).",
		s.k.opsPurgeRounds, n, n-1000)
	r.Table(prefixes)
	r.Table(loads)
	r.Para("Load average after: %s.", loadavg())
}

// msTriple is "p50 / p99 / max" in ms of the ops tool's NAME_p50_us... fields.
func msTriple(f result.Fields, name string) string {
	return report.Ms(f.F(name+"_p50_us")) + " / " + report.Ms(f.F(name+"_p99_us")) + " / " + report.Ms(f.F(name+"_max_us"))
}

// opsPrefixRound fills n objects under /gen/p<round>/, runs wrk without and with a purge of
// that prefix, then the samples; it adds a row to each table.
func (s *session) opsPrefixRound(e *edgeproc.Edge, n, round int, prefixes, loads *report.Table) {
	prefix := fmt.Sprintf("/gen/p%d/", round)
	fill := s.opsTool(e, "fill", "-prefix", prefix, "-n", fmt.Sprint(n), "-c", "32")
	hits := func(label string) {
		m := s.wrk(load{raw: fmt.Sprintf("wrk-q-pixcdn-%s.txt", label), url: e.URL + "/obj/q", script: "paths.lua", dur: 10 * time.Second,
			env: []string{"WRK_PATH_PREFIX=/gen/q/", "WRK_PATH_COUNT=1000"}, server: cpuOf(e.Proc), originPath: ""})
		progress("  purge %s: %.1f req/s, p99 %dus, origin +%d, other CPU %.0f%%", label, m.RPS, m.P99.Microseconds(), m.origin, m.other)
		loads.Row(append([]any{label}, hitCells(m)...)...)
	}
	hits(fmt.Sprintf("no-purge-%d", round))
	out := filepath.Join(s.work, "purge-prefix.out")
	purged := make(chan error, 1)
	go func() {
		purged <- s.helperErr(time.Minute, out, s.rawPath("ops-tool.err"), "ops", "purge-prefix", "-url", e.URL, "-admin", e.Admin, "-token", opsToken,
			"-prefix", prefix, "-n", fmt.Sprint(n), "-delay", "2s")
	}()
	hits(fmt.Sprintf("purge-at-2s-%d", round))
	must(<-purged)
	p := s.resultOf(out, "ops-tool.out")
	ps := s.opsTool(e, "sample", "-prefix", prefix, "-n", fmt.Sprint(n-1000), "-k", "1000", "-want", "miss", "-seed", fmt.Sprint(round))
	qs := s.opsTool(e, "sample", "-prefix", "/gen/q/", "-n", "5000", "-k", "1000", "-want", "hit", "-seed", fmt.Sprint(round))
	prefixes.Row(round, fmt.Sprintf("%s in %s s, %s errors", fill["n"], fill["duration_s"], fill["errors"]), report.Ms(p.F("purge_us")), report.Ms(p.F("miss_us")), p.I("probes"),
		fmt.Sprintf("%s / %s / %s / %s", ps["misses"], ps["hits"], ps["other"], ps["errors"]),
		fmt.Sprintf("%s / %s / %s / %s", qs["hits"], qs["misses"], qs["other"], qs["errors"]))
}

// ---------------------------------------------------------------- 5.3

// opsReload is 5.3: ten SIGHUP reloads under load, alternating two configs that differ in a
// cache rule.
func (s *session) opsReload(e *edgeproc.Edge) {
	r := s.rep
	a := filepath.Join(s.work, "ops-reload-a.yaml")
	b := filepath.Join(s.work, "ops-reload-b.yaml")
	copyFile(e.Config, a)
	cfg, err := os.ReadFile(e.Config)
	must(err)
	must(os.WriteFile(b, []byte(strings.Replace(string(cfg), "ttl: 600s", "ttl: 1200s", 1)), 0o644))
	must(edgeproc.Check(filepath.Join(s.bin, "pixcdn"), b))
	copyFile(b, s.rawPath("ops-reload-b.yaml"))
	r.Para("### 5.3 Reload under load")
	r.Para("Same edge; %d round(s) of two wrk -t2 -c64 -d20s runs on /obj/1k (cached): without reloads, then with 10 SIGHUPs one every 1.5 s from 1.5 s in, the config file replaced (write + rename) before each by the other of two valid variants differing only in the rule for /gen/r/ (ttl 600s / 1200s). After each SIGHUP the harness waits for the log line \"configuration reloaded\" and requests a fresh /gen/r/ object to read the ttl in its Cache-Status. Load average before: %s.",
		s.k.opsReloadRounds, loadavg())
	r.Line(s.checkHit("pixcdn", e.URL+"/obj/1k"))
	r.Line()
	t := report.NewTable("wrk run", "req/s", "p50 ms", "p99 ms", "socket errors", "non-2xx", "origin requests for /obj/1k", "server CPU µs/req", "other CPU %")
	var checks []string
	for round := 1; round <= s.k.opsReloadRounds; round++ {
		checks = append(checks, s.opsReloadRound(e, a, b, round, t))
	}
	r.Table(t)
	for _, c := range checks {
		r.Line(c)
	}
	r.Line()
	r.Para("Load average after: %s.", loadavg())
}

var ttlRe = regexp.MustCompile(`ttl=([0-9-]*)`)

// opsReloadRound is the wrk run without reloads, then the one with ten; it returns the
// round's line of checks.
func (s *session) opsReloadRound(e *edgeproc.Edge, a, b string, round int, t *report.Table) string {
	plain := s.hitRound("1k", "pixcdn", e.URL, fmt.Sprintf("no-reload-%d", round), "", 20*time.Second, cpuOf(e.Proc)).m
	t.Row(append([]any{fmt.Sprintf("no-reload-%d", round)}, hitCells(plain)...)...)
	before := logCount(e.Log, "configuration reloaded")
	failedBefore := logCount(e.Log, "reload failed")
	ttls := make(chan []string, 1)
	go func() {
		var got []string
		for i := 1; i <= 10; i++ {
			time.Sleep(1500 * time.Millisecond)
			src := a
			if i%2 == 1 {
				src = b
			}
			data, _ := os.ReadFile(src)
			os.WriteFile(e.Config+".tmp", data, 0o644)
			os.Rename(e.Config+".tmp", e.Config)
			e.Proc.Cmd.Process.Signal(syscall.SIGHUP)
			for j := 0; j < 50 && logCount(e.Log, "configuration reloaded") < before+i; j++ {
				time.Sleep(20 * time.Millisecond)
			}
			ttl := ""
			if resp, _, err := get(fmt.Sprintf("%s/gen/r/reload-%d-%d", e.URL, round, i)); err == nil {
				if m := ttlRe.FindStringSubmatch(resp.Header.Get("Cache-Status")); m != nil {
					ttl = m[1]
				}
			}
			got = append(got, ttl)
		}
		ttls <- got
	}()
	loaded := s.hitRound("1k", "pixcdn", e.URL, fmt.Sprintf("10-reloads-%d", round), "", 20*time.Second, cpuOf(e.Proc)).m
	t.Row(append([]any{fmt.Sprintf("10-reloads-%d", round)}, hitCells(loaded)...)...)
	got := <-ttls
	reloaded := logCount(e.Log, "configuration reloaded") - before
	failed := logCount(e.Log, "reload failed") - failedBefore
	return fmt.Sprintf("- Round %d: req/s with/without reloads %.3f; \"configuration reloaded\" in the pixcdn log during the run: %d (10 expected); \"reload failed\": %d; ttl of a fresh /gen/r/ object after each reload (1199 then 599, alternating, expected): %s ",
		round, loaded.RPS/plain.RPS, reloaded, failed, strings.Join(got, " "))
}

// logCount is the number of lines of a log file containing s.
func logCount(path, s string) int {
	data, _ := os.ReadFile(path)
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}
