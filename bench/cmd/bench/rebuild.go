package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// runRebuild is section 4: the disk tier's rebuild time, by internal/store's
// TestRebuildMillion (1M objects, about 1.2 GB in a temp dir; -rebuild-objects N writes N).
func runRebuild(s *session) {
	s.measure = "rebuild"
	const test = "TestRebuildMillion"
	r := s.rep
	r.Para("## 4. Disk-tier rebuild (1M objects)")
	files, _ := filepath.Glob(filepath.Join(s.root, "internal", "store", "*_test.go"))
	found := false
	for _, f := range files {
		data, _ := os.ReadFile(f)
		found = found || strings.Contains(string(data), "func "+test+"(")
	}
	if !found {
		r.Para("internal/store has no %s: not measured.", test)
		return
	}
	env := []string{"PIXCDN_BENCH_REBUILD=1"}
	what := "(writes ~1.2 GB in a temp dir)"
	if n := s.k.rebuildObjects; n > 0 {
		env = append(env, fmt.Sprintf("PIXCDN_BENCH_REBUILD_N=%d", n))
		what = fmt.Sprintf("with PIXCDN_BENCH_REBUILD_N=%d: %d objects, not 1M", n, n)
	}
	r.Para("`PIXCDN_BENCH_REBUILD=1 go test -count=1 -run '^%s$' -v -timeout 30m ./internal/store/` %s; load average before: %s.", test, what, loadavg())
	out := s.rawPath("rebuild.txt")
	err := s.runTo(32*time.Minute, out, env, s.root, "go", "test", "-count=1", "-run", "^"+test+"$", "-v", "-timeout", "30m", "./internal/store/")
	data, _ := os.ReadFile(out)
	r.Line("```")
	noise := regexp.MustCompile(`^=== (RUN|PAUSE|CONT)`)
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !noise.MatchString(l) {
			r.Line(l)
		}
	}
	r.Line("```")
	r.Line()
	r.Para("Load average after: %s.", loadavg())
	if err != nil {
		fail("rebuild: go test: %v", err)
	}
}
