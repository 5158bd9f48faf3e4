package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/edgeproc"
	"github.com/pixcdn/pixcdn/bench/internal/report"
	"github.com/pixcdn/pixcdn/bench/internal/result"
	"github.com/pixcdn/pixcdn/bench/internal/stats"
	"github.com/pixcdn/pixcdn/bench/internal/wrk"
)

const accessSignKey = "bench-sign-key-0123456789abcdef"

// runAccess is section 6: the access rules' cost on the hit path, a flood of one rate-limit
// key beside a well-behaved client, and memory under a flood of spoofed keys (bench/cmd/access).
func runAccess(s *session) {
	s.measure = "access"
	want, err := parts(s.k.accessParts, "hit", "flood", "spoof")
	must(err)
	s.rep.Para("## 6. Access control")
	s.rep.Para("pixcdn only; GOMAXPROCS=%d.", s.gomaxprocs())
	if want["hit"] {
		s.accessHit()
	}
	if want["flood"] {
		s.accessFlood()
	}
	if want["spoof"] {
		s.accessSpoof()
	}
	s.stopAll()
}

// startAccessEdge starts an edge named access-NAME whose domain gets the access block rules
// ("": none).
func (s *session) startAccessEdge(name, rules string) *edgeproc.Edge {
	return s.startEdge("access-"+name, edgeproc.Config{CacheDir: filepath.Join(s.work, "access-"+name+"-cache"), DomainYAML: rules})
}

// accessRules is the "all rules" access block of 6.1.
func (s *session) accessRules() string {
	var b strings.Builder
	b.WriteString("    access:\n")
	fmt.Fprintf(&b, "      sign: {type: A, keys: [%q], ttl: 8760h}\n", accessSignKey)
	b.WriteString("      referer: {mode: allow, patterns: [\"example.com\", \"*.example.com\", \"img.*.example.org\"], allow_empty: false}\n")
	b.WriteString("      user_agent:\n        mode: deny\n        allow_empty: false\n        patterns:\n")
	for _, p := range []string{"*curl*", "*wget*", "*python-requests*", "*python-urllib*", "*scrapy*", "*go-http-client*",
		"*java/*", "*libwww-perl*", "*httpclient*", "*okhttp*", "*aiohttp*", "*masscan*", "*zgrab*", "*nikto*",
		"*sqlmap*", "*nmap*", "mj12bot*", "*ahrefsbot*", "*semrushbot*", "*dotbot*"} {
		fmt.Fprintf(&b, "          - %q\n", p)
	}
	b.WriteString("      rate_limits:\n        - {name: per-ip, key: ip, requests: 100000000, interval: 1s, burst: 100000000}\n")
	b.WriteString("      ip:\n        mode: deny\n        cidrs:\n")
	out := filepath.Join(s.work, "cidrs.txt")
	s.helper(time.Minute, out, s.rawPath("access-tool.err"), "access", "cidrs", "-n", "10000", "-seed", "1")
	data, err := os.ReadFile(out)
	must(err)
	b.Write(data)
	return b.String()
}

// tamper changes the last character of u (the end of the type A signature).
func tamper(u string) string {
	if strings.HasSuffix(u, "0") {
		return u[:len(u)-1] + "1"
	}
	return u[:len(u)-1] + "0"
}

// accessHit is 6.1: the hit path with every rule on against none, two edges, wrk alternating.
func (s *session) accessHit() {
	const ua, ref = "Mozilla/5.0 (X11; Linux x86_64) pixcdn-bench/1.0", "https://www.example.com/page.html"
	r := s.rep
	s.startOrigin("0s")
	rules := s.accessRules()
	os.WriteFile(filepath.Join(s.work, "rules.yaml"), []byte(rules), 0o644)
	none := s.startAccessEdge("none", "")
	withRules := s.startAccessEdge("rules", rules)
	out, err := exec.Command(filepath.Join(s.bin, "pixcdn"), "sign", "-config", withRules.Config, withRules.URL+"/obj/1k").Output()
	if err != nil {
		fail("pixcdn sign failed: %v", err)
	}
	signed := strings.TrimSpace(string(out))
	h := []string{"User-Agent: " + ua, "Referer: " + ref}
	status(signed, h...)
	status(none.URL+"/obj/1k", h...)
	r.Para("### 6.1 Cost on the hit path")
	cs := ""
	if resp, _, err := get(signed, h...); err == nil {
		cs = strings.Join(headerLines(resp, "Cache-Status"), " ")
	}
	r.Para("Two edges, one without access rules, one with all of: `sign` type A (ttl 8760h; wrk requests one URL printed by `pixcdn sign`), `referer` allow list (3 patterns), `user_agent` deny list (20 patterns), `ip` deny list of 10,000 CIDRs not containing 127.0.0.1 (5,000 IPv4, 5,000 IPv6, `bench/cmd/access cidrs -seed 1`) and one rate rule keyed by ip at 100,000,000 requests/s. Both get the same headers (`User-Agent: %s`, `Referer: %s`); wrk -t2 -c64 -d%s --latency on /obj/1k (cached), %d round(s) alternating (rules, then none). Load average before: %s.",
		ua, ref, secs(s.k.duration), s.k.rounds, loadavg())
	r.Para("Checks on the rules edge before the load (status codes): signed + headers %d, unsigned %d, wrong Referer %d, curl's User-Agent %d, signature altered %d; the unsigned-path Cache-Status of the signed URL: `%s`.",
		status(signed, h...), status(withRules.URL+"/obj/1k", h...), status(signed, "User-Agent: "+ua, "Referer: https://evil.example.net/"),
		status(signed, "User-Agent: curl/7.88.1", "Referer: "+ref), status(tamper(signed), h...), cs)
	var rows []hitRow
	for round := 1; round <= s.k.rounds; round++ {
		for _, e := range []struct {
			name, url string
			edge      *edgeproc.Edge
		}{{"rules", signed, withRules}, {"none", none.URL + "/obj/1k", none}} {
			m := s.wrk(load{raw: fmt.Sprintf("wrk-access-%s-%d.txt", e.name, round), url: e.url, headers: h, dur: s.k.duration, server: cpuOf(e.edge.Proc), originPath: "/obj/1k"})
			progress("  access %s round %d: %.1f req/s, p50 %dus, p99 %dus, errors %d/%d, origin +%d, other CPU %.0f%%, server %.1f CPU-us/req",
				e.name, round, m.RPS, m.P50.Microseconds(), m.P99.Microseconds(), m.Errors, m.StatusErrors, m.origin, m.other, m.cpuPer(m.Requests))
			rows = append(rows, hitRow{"1k", e.name, fmt.Sprint(round), m})
		}
	}
	t := report.NewTable("edge", "round", "req/s", "p50 ms", "p99 ms", "socket errors", "non-2xx", "origin requests", "server CPU µs/req", "other CPU %")
	for _, row := range rows {
		t.Row(append([]any{row.server, row.round}, hitCells(row.m)...)...)
	}
	r.Table(t)
	on, _ := stats.Median(rowValues(rows, "rules", -1, rowRPS))
	off, _ := stats.Median(rowValues(rows, "none", -1, rowRPS))
	ratio := roundTo(on/off, 3)
	met := "**not met**"
	if ratio >= 0.90 {
		met = "met"
	}
	r.Line(fmt.Sprintf("Median req/s: rules %.0f, none %.0f: ratio **%.3f** (cost %.1f %%; target ≤ 10 %%: %s).", on, off, ratio, (1-ratio)*100, met))
	con, coff := rowValues(rows, "rules", 5, rowRPS), rowValues(rows, "none", 5, rowRPS)
	if len(con) > 0 && len(coff) > 0 {
		a, _ := stats.Median(con)
		b, _ := stats.Median(coff)
		r.Line(fmt.Sprintf("Undisturbed rounds only (other CPU ≤ 5 %%): ratio **%.3f**.", a/b))
	} else {
		r.Line("No undisturbed pair of rounds (other CPU ≤ 5 %): rerun when the machine is quiet.")
	}
	cpu := func(m measured) float64 { return roundTo(m.cpuPer(m.Requests), 1) }
	a, _ := stats.Median(rowValues(rows, "rules", -1, cpu))
	b, _ := stats.Median(rowValues(rows, "none", -1, cpu))
	r.Para("Server CPU per request (median): rules %s µs, none %s µs: %+.1f %%. Load average after: %s.", num(a), num(b), (a/b-1)*100, loadavg())
	s.stopAll()
}

// accessFlood is 6.2: a paced good client alone, then while wrk (or a paced abuser) floods
// the same rate rule with another key.
func (s *session) accessFlood() {
	r := s.rep
	s.startOrigin("0s")
	target, abuse := "the same edge", ""
	if s.k.accessFloodControl {
		// Control: wrk loads a second edge without rules (all 200), so the good client's latency
		// shows the machine's contention alone, without the limiter.
		control := s.startAccessEdge("control", "")
		abuse, target = control.URL+"/obj/1k", "a second edge without rules (control)"
		status(abuse)
	}
	flood := s.startAccessEdge("flood", "    access:\n      rate_limits:\n        - {name: per-client, key: \"header:X-Client\", requests: 1000, interval: 1s, burst: 1000, block: 1s}\n")
	status(flood.URL+"/obj/1k", "X-Client: warm")
	if abuse == "" {
		abuse = flood.URL + "/obj/1k"
	}
	r.Para("### 6.2 Flood of one key")
	r.Para("Rate rule `{key: \"header:X-Client\", requests: 1000, interval: 1s, burst: 1000, block: 1s}`. The good client (`bench/cmd/access paced`: 500 req/s on 4 keep-alive connections, each on a fixed schedule, `X-Client: good`, /obj/1k cached) runs 10 s alone, then 10 s while wrk -t2 -c64 -H 'X-Client: bad' (bench/wrk/status.lua) on %s runs 12 s from 1 s before it; %d round(s). Latency \"from send\" is the request's own; \"from schedule\" counts from when it was due, so it includes waiting behind a slow predecessor. Load average before: %s.",
		target, s.k.rounds, loadavg())
	t := report.NewTable("round", "good client", "requests", "p50 ms", "p99 ms", "max ms", "p50 / p99 from schedule ms", "200", "429", "403", "other", "errors", "abuser req/s", "abuser 200", "abuser 429", "abuser socket errors")
	for round := 1; round <= s.k.rounds; round++ {
		good := s.accessPaced(flood, round, "alone")
		t.Row(append(pacedCells(round, "alone", good), "-", "-", "-", "-")...)
		abuser := s.startAbuser(abuse, round)
		time.Sleep(time.Second)
		good = s.accessPaced(flood, round, "under flood")
		ab := <-abuser
		if ab.err != nil {
			fail("flood abuser: %v", ab.err)
		}
		t.Row(append(pacedCells(round, "under flood", good), ab.cells...)...)
	}
	r.Table(t)
	r.Para("Load average after: %s.", loadavg())
	s.stopAll()
}

// accessPaced is one 10 s run of the good client on e.
func (s *session) accessPaced(e *edgeproc.Edge, round int, label string) result.Fields {
	out := filepath.Join(s.work, "paced.out")
	s.helper(time.Minute, out, s.rawPath("access-tool.err"), "access", "paced", "-url", e.URL+"/obj/1k", "-header", "X-Client", "-value", "good",
		"-rate", "500", "-c", "4", "-d", "10s")
	appendRaw(s.rawPath("access-tool.out"), fmt.Sprintf("%d %s ", round, label))
	return s.resultOf(out, "access-tool.out")
}

func pacedCells(round int, label string, f result.Fields) []any {
	return []any{round, label, f.I("requests"), report.Ms(f.F("p50_us")), report.Ms(f.F("p99_us")), report.Ms(f.F("max_us")),
		report.Ms(f.F("sched_p50_us")) + " / " + report.Ms(f.F("sched_p99_us")), f["ok"], f["r429"], f["r403"], f["other"], f["errors"]}
}

type abuserResult struct {
	cells []any // abuser req/s, 200, 429, socket errors
	err   error
}

// startAbuser starts the flood for 12 s: wrk as fast as it can, or, with -access-flood-rate,
// a paced client at that rate (the "10x the rate limit").
func (s *session) startAbuser(url string, round int) <-chan abuserResult {
	done := make(chan abuserResult, 1)
	raw := s.rawPath(fmt.Sprintf("wrk-flood-%d.txt", round))
	go func() {
		if s.k.accessFloodRate > 0 {
			err := s.helperErr(time.Minute, raw, raw+".err", "access", "paced", "-url", url, "-header", "X-Client", "-value", "bad",
				"-rate", fmt.Sprint(s.k.accessFloodRate), "-c", "16", "-d", "12s")
			var f result.Fields
			if err == nil {
				data, _ := os.ReadFile(raw)
				f, err = result.Parse(data)
			}
			done <- abuserResult{[]any{f["rps"], f["ok"], f["r429"], f["errors"]}, err}
			return
		}
		w, err := wrk.Run(wrk.Options{Threads: 2, Conns: 64, Duration: 12 * time.Second, Headers: []string{"X-Client: bad"},
			Script: filepath.Join(s.bench, "wrk", "status.lua"), URL: url, Out: raw, Limit: time.Minute})
		done <- abuserResult{[]any{w.Fields["rps"], w.Fields["c200"], w.Fields["c429"], w.Errors}, err}
	}()
	return done
}

func appendRaw(path, text string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		f.WriteString(text)
		f.Close()
	}
}

// accessSpoof is 6.3: memory while every request brings a new rate-limit key, a fresh edge
// per rate_limit_keys setting.
func (s *session) accessSpoof() {
	r := s.rep
	n := s.k.accessSpoofN
	r.Para("### 6.3 Memory under a spoofed-key flood")
	r.Para("Rate rule `{key: \"header:X-Client\", requests: 100, interval: 1s}`; %d requests for /obj/1k (cached), each with its own X-Client value, 32 at a time over keep-alive connections (`bench/cmd/access spoof`); VmRSS (/proc/PID/status) and `go_memstats_heap_inuse_bytes` (/metrics) read before, every 250 ms during (peak kept), at the end and 2 s later. A fresh edge per setting. Load average before: %s.",
		n, loadavg())
	t := report.NewTable("rate_limit_keys", "limiter bound (32 B × keys) MB (10^6 B)", "requests/s", "200 / 429 / other / errors", "RSS before / peak / end / +2 s MiB",
		"heap in use before / peak / end / +2 s MiB", "RSS growth (peak − before) MiB", "heap growth (peak − before) MiB")
	for _, keys := range strings.Fields(s.k.accessSpoofKeys) {
		s.startOrigin("0s")
		e := s.startAccessEdge("spoof-"+keys, fmt.Sprintf("    access:\n      rate_limit_keys: %s\n      rate_limits:\n        - {name: per-client, key: \"header:X-Client\", requests: 100, interval: 1s}\n", keys))
		status(e.URL+"/obj/1k", "X-Client: warm")
		out := filepath.Join(s.work, "spoof.out")
		s.helper(10*time.Minute, out, s.rawPath("access-tool.err"), "access", "spoof", "-url", e.URL+"/obj/1k", "-header", "X-Client", "-n", fmt.Sprint(n),
			"-c", "32", "-pid", fmt.Sprint(e.Proc.Pid()), "-metrics", e.Admin+"/metrics")
		appendRaw(s.rawPath("access-tool.out"), "keys="+keys+" ")
		f := s.resultOf(out, "access-tool.out")
		const mib = 1 << 20
		four := func(p string) string {
			return fmt.Sprintf("%.1f / %.1f / %.1f / %.1f", f.F(p+"_before")/mib, f.F(p+"_peak")/mib, f.F(p+"_end")/mib, f.F(p+"_after")/mib)
		}
		var k float64
		fmt.Sscan(keys, &k)
		t.Row(keys, fmt.Sprintf("%.1f", k*32/1e6), fmt.Sprintf("%.0f", f.F("rps")), fmt.Sprintf("%s / %s / %s / %s", f["ok"], f["r429"], f["other"], f["errors"]),
			four("rss"), four("heap"), fmt.Sprintf("%+.1f", (f.F("rss_peak")-f.F("rss_before"))/mib), fmt.Sprintf("%+.1f", (f.F("heap_peak")-f.F("heap_before"))/mib))
		s.stopAll()
	}
	r.Table(t)
	r.Para("Load average after: %s.", loadavg())
}
