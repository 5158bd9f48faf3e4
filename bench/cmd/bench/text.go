package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/report"
	"github.com/pixcdn/pixcdn/bench/internal/stats"
)

// runText is section 7.5: the text codings' ratio and CPU per MB (bench/cmd/textratio), then
// brotli answers from the cache against identity through the edge.
func runText(s *session) {
	s.measure = "text"
	r := s.rep
	r.Para("## 7.5 Text compression")
	r.Para("`bench/cmd/textratio -dir internal/demo/site` (internal/compress.Encode: brotli 5, zstd 3, gzip 6; each encoding decoded and compared once; then encoded repeatedly for ≥ 300 ms, CPU = the process's user+sys from getrusage). Load average before: %s.", loadavg())
	out := s.rawPath("textratio.md")
	s.helper(10*time.Minute, out, out+".err", "textratio", "-dir", filepath.Join(s.root, "internal", "demo", "site"))
	data, _ := os.ReadFile(out)
	r.Printf("%s", data)
	r.Line()
	s.textEdge()
}

// statusRow is one wrk run with bench/wrk/status.lua or bust.lua (the image and text loads):
// the answers counted by status, and the server's CPU per 200.
type statusRow struct {
	label string
	m     measured
	c200  int64
	cpuMs string // server CPU ms per 200 answer, "-" without any
	other string // "503/other non-200 (last STATUS)", "-/-" when the script does not count them
}

// statusWrk is one wrk -t2 run with --timeout 30s and a status-counting script (status.lua
// unless given) on url against the measure's edge; origin requests are counted over every path.
func (s *session) statusWrk(label, url, script string, conns int, dur time.Duration, server func() time.Duration, headers ...string) statusRow {
	if script == "" {
		script = "status.lua"
	}
	m := s.wrk(load{raw: fmt.Sprintf("wrk-%s-%s.txt", s.measure, label), url: url, script: script, conns: conns, dur: dur,
		timeout: 30 * time.Second, headers: headers, server: server, limit: dur + 5*time.Minute})
	row := statusRow{label: label, m: m, cpuMs: "-"}
	row.c200, _ = m.Int("c200")
	if row.c200 > 0 {
		row.cpuMs = fmt.Sprintf("%.4f", float64(m.serverCPU)/1e6/float64(row.c200))
	}
	dash := func(k string) string {
		if v, ok := m.Fields[k]; ok {
			return v
		}
		return "-"
	}
	row.other = dash("c503") + "/" + dash("cother")
	if v := m.Fields["last_other"]; v != "" {
		row.other += " (last " + v + ")"
	}
	progress("  %s: %.1f req/s, p50 %dus, p99 %dus, errors %d/%d, 200s %d, %s CPU-ms per 200, origin +%d, other CPU %.0f%%",
		label, m.RPS, m.P50.Microseconds(), m.P99.Microseconds(), m.Errors, m.StatusErrors, row.c200, row.cpuMs, m.origin, m.other)
	return row
}

// textEdge: br from the cache beside identity, wrk alternating.
func (s *session) textEdge() {
	s.measure = "text-edge"
	r := s.rep
	s.startOrigin("0s", "-files", filepath.Join(s.root, "internal", "demo", "site"), "-files-cache-control", "max-age=3600")
	px, _ := s.startPixcdn(filepath.Join(s.work, "pixcdn-text-cache"), "")
	files := []string{"app.js", "style.css"}
	r.Para("Through the edge: origin `benchorigin -files internal/demo/site` (max-age=3600); each file requested twice with `Accept-Encoding: br` and twice without; then `wrk -t2 -c64 -d%s --latency` alternating br / identity, %d round(s). Load average before: %s.",
		secs(s.k.duration), s.k.rounds, loadavg())
	show := []string{"Cache-Status", "Content-Encoding", "Content-Length"} // the order pixcdn (net/http) writes them
	for _, f := range files {
		url := px.URL + "/files/" + f
		mustGet(url, "Accept-Encoding: br")
		mustGet(url)
		br, _ := mustGet(url, "Accept-Encoding: br")
		id, _ := mustGet(url)
		r.Line(fmt.Sprintf("- %s br: `%s `; identity: `%s `", f, strings.Join(headerLines(br, show...), " "), strings.Join(headerLines(id, show...), " ")))
	}
	r.Line()
	var rows []statusRow
	for _, f := range files {
		for round := 1; round <= s.k.rounds; round++ {
			url := px.URL + "/files/" + f
			rows = append(rows, s.statusWrk(fmt.Sprintf("%s-br-%d", f, round), url, "", 64, s.k.duration, cpuOf(px.Proc), "Accept-Encoding: br"))
			rows = append(rows, s.statusWrk(fmt.Sprintf("%s-identity-%d", f, round), url, "", 64, s.k.duration, cpuOf(px.Proc)))
		}
	}
	t := report.NewTable("file, coding, round", "req/s", "p50 ms", "p99 ms", "socket errors", "non-2xx", "origin requests", "server CPU µs / answer", "other CPU %")
	for _, row := range rows {
		var cpuUs float64
		fmt.Sscan(row.cpuMs, &cpuUs)
		t.Row(row.label, fmt.Sprintf("%.0f", row.m.RPS), msOf(row.m.P50), msOf(row.m.P99), row.m.Errors, row.m.StatusErrors, row.m.origin,
			fmt.Sprintf("%.1f", cpuUs*1000), fmt.Sprintf("%.0f", row.m.other))
	}
	r.Table(t)
	for _, f := range files {
		med := func(coding string) float64 {
			var xs []float64
			for _, row := range rows {
				if strings.HasPrefix(row.label, f+"-"+coding+"-") {
					xs = append(xs, row.m.RPS)
				}
			}
			m, _ := stats.Median(xs)
			return m
		}
		br, id := med("br"), med("identity")
		r.Line(fmt.Sprintf("- %s: median br %.0f req/s, identity %.0f req/s: br / identity **%.3f**.", f, br, id, br/id))
	}
	r.Line()
	r.Para("Load average after: %s.", loadavg())
	s.stopAll()
}
