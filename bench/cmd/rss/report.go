package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// mib writes bytes in MiB with one decimal.
func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// middle is the sample nearest to half the random phase, or the zero point with none.
func (r *Report) middle() point {
	var best point
	half := r.cfg.Duration / 2
	for i, p := range r.samples {
		if i == 0 || absDur(p.at-half) < absDur(best.at-half) {
			best = p
		}
	}
	return best
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

// peak is the largest of the kernel's high-water mark and every sampled VmRSS.
func (r *Report) peak() (hwm, maxSampled int64) {
	hwm = r.end.HWM
	for _, p := range append(r.samples, point{mem: r.before}, point{mem: r.afterFill}, point{mem: r.end}) {
		maxSampled = max(maxSampled, p.mem.RSS)
		hwm = max(hwm, p.mem.HWM)
	}
	return hwm, maxSampled
}

// Target is the bound: the memory tier plus 150 MB.
func (r *Report) Target() int64 { return r.cfg.MemTier + 150e6 }

// Write prints the report as markdown tables.
func (r *Report) Write(w io.Writer) {
	mid := r.middle()
	hwm, maxRSS := r.peak()
	fmt.Fprintln(w, "| point | VmRSS MiB | RssAnon MiB | RssFile MiB | VmHWM MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	memRow(w, "before fill", r.before)
	memRow(w, "after fill = start of random load", r.afterFill)
	memRow(w, fmt.Sprintf("middle of load (t=%.0fs)", mid.at.Seconds()), mid.mem)
	memRow(w, "end of load", r.end)
	fmt.Fprintf(w, "| peak (max of %d samples / VmHWM) | %s | | | %s |\n", len(r.samples), mib(maxRSS), mib(hwm))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | seconds | requests | req/s | MiB/s | hits | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	writeLoad(w, "fill (each object once)", r.fill, r.fillTook)
	writeLoad(w, "random", r.load, r.loadTook)
	fmt.Fprintln(w)
	verdict := "met"
	if hwm > r.Target() {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "Peak VmHWM %s MiB; target memory tier %s MiB + 150 MB = %s MiB: **%s**.\n",
		mib(hwm), mib(r.cfg.MemTier), mib(r.Target()), verdict)
	for _, p := range []struct {
		name string
		l    *Load
	}{{"fill", r.fill}, {"random", r.load}} {
		if err := p.l.FirstErr(); err != nil {
			fmt.Fprintf(w, "\nFirst %s error: `%v`\n", p.name, err)
		}
	}
}

func memRow(w io.Writer, name string, m procstat.Mem) {
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, mib(m.RSS), mib(m.Anon), mib(m.File), mib(m.HWM))
}

func writeLoad(w io.Writer, name string, l *Load, took time.Duration) {
	n, s := l.Requests.Load(), took.Seconds()
	hitPct := 0.0
	if n > 0 {
		hitPct = 100 * float64(l.Hits.Load()) / float64(n)
	}
	fmt.Fprintf(w, "| %s | %.1f | %d | %.0f | %.1f | %.1f %% | %d |\n", name, s, n, float64(n)/s,
		float64(l.Bytes.Load())/(1<<20)/s, hitPct, l.Errors.Load())
}
