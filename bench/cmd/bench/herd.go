package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runHerd is section 2: many clients released together on one cold object behind a slow
// origin, pixcdn then nginx (bench/cmd/herd).
func runHerd(s *session) {
	s.measure = "herd"
	s.startOrigin("200ms")
	px, note := s.startPixcdn(filepath.Join(s.work, "pixcdn-herd-cache"), "")
	ng := s.startNginx()
	r := s.rep
	r.Para("## 2. Thundering herd")
	if note != "" {
		r.Para("%s", note)
	}
	r.Para("%d clients released together on one cold /slow/<fresh key> (origin answers after 200 ms), %d rounds per server; load average before: %s.",
		s.k.herdClients, s.k.herdRounds, loadavg())
	args := func(url, tag string) []string {
		return []string{"-url", url, "-origin", s.origin.URL, "-tag", tag, "-clients", fmt.Sprint(s.k.herdClients),
			"-rounds", fmt.Sprint(s.k.herdRounds), "-target-median", "215ms"}
	}
	s.helper(5*time.Minute, s.rawPath("herd-pixcdn.md"), s.rawPath("herd-pixcdn.err"), "herd", args(px.URL, "pixcdn")...)
	s.helper(5*time.Minute, s.rawPath("herd-nginx.md"), s.rawPath("herd-nginx.err"), "herd", append(args(ng.URL, "nginx"), "-header=false")...)
	s.saveStats(px, "pixcdn-herd-stats.json")
	// One table: both runs' rows, then both verdicts.
	px1, px2 := splitTable(s.rawPath("herd-pixcdn.md"))
	ng1, ng2 := splitTable(s.rawPath("herd-nginx.md"))
	r.Printf("%s%s\n%s\n%s", px1, ng1, px2, ng2)
	for _, f := range []string{"herd-nginx.err", "herd-pixcdn.err"} {
		data, _ := os.ReadFile(s.rawPath(f))
		r.Printf("%s", data)
	}
	r.Line()
	r.Para("Load average after: %s.", loadavg())
	s.stopAll()
}

// splitTable reads a helper's markdown: its table lines, and its other lines without the
// empty ones, each with a newline.
func splitTable(file string) (table, rest string) {
	data, err := os.ReadFile(file)
	must(err)
	var t, o strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "|"):
			t.WriteString(l + "\n")
		case l != "":
			o.WriteString(l + "\n")
		}
	}
	return t.String(), o.String()
}
