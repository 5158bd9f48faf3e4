package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// runRSS is section 3: peak RSS of pixcdn serving a working set larger than its memory tier
// (bench/cmd/rss).
func runRSS(s *session) {
	s.measure = "rss"
	s.startOrigin("0s")
	cache := filepath.Join(s.work, "pixcdn-rss-cache")
	px, note := s.startPixcdn(cache, "64MiB")
	r := s.rep
	r.Para("## 3. Memory (peak RSS)")
	if note != "" {
		r.Para("%s", note)
	}
	r.Para("pixcdn with cache.memory_size 64MiB and a disk cache dir; %d distinct 100 KiB objects, one fill pass then uniformly random requests for %v (32 connections); load average before: %s.",
		s.k.rssObjects, secs(s.k.rssDuration), loadavg())
	s.helper(10*time.Minute+s.k.rssDuration, s.rawPath("rss.md"), s.rawPath("rss.err"), "rss", "-url", px.URL, "-pid", fmt.Sprint(px.Proc.Pid()),
		"-objects", fmt.Sprint(s.k.rssObjects), "-duration", s.k.rssDuration.String(), "-mem-tier", fmt.Sprint(64<<20))
	s.saveStats(px, "pixcdn-rss-stats.json")
	data, _ := os.ReadFile(s.rawPath("rss.md"))
	r.Printf("%s", data)
	r.Line()
	r.Para("Disk cache after the run: %s. Load average after: %s.", humanSize(dirSize(cache)), loadavg())
	s.stopAll()
}

// dirSize is the disk space the files under dir take (their blocks, as du counts).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := d.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// humanSize writes n bytes as du -h does: one decimal below 10 of a unit; K, M, G, T.
func humanSize(n int64) string {
	units := []string{"", "K", "M", "G", "T"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprint(n)
	case v < 10:
		return fmt.Sprintf("%.1f%s", v, units[i])
	default:
		return fmt.Sprintf("%.0f%s", v, units[i])
	}
}
