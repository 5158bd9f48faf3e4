package main

import (
	"fmt"
	"io"
	"time"
)

// Sample is the edge's memory at one moment of the run.
type Sample struct {
	At       time.Duration // since the load started
	RSS      int64         // VmRSS, bytes
	Requests int64         // answers received so far (any status)
}

// Result is one run: the samples (first at 0, last after the load stopped), the kernel's peak
// and the answers by kind.
type Result struct {
	Samples                  []Sample
	HWM                      int64 // VmHWM at the end: the true peak, between samples included
	OK, Other, Errors, Bytes int64
}

// Middle is the sample nearest to half the run.
func (r *Result) Middle() Sample {
	end := r.Samples[len(r.Samples)-1].At
	best := r.Samples[0]
	for _, s := range r.Samples {
		if absDur(s.At-end/2) < absDur(best.At-end/2) {
			best = s
		}
	}
	return best
}

// Peak is the largest sampled RSS.
func (r *Result) Peak() int64 {
	var p int64
	for _, s := range r.Samples {
		p = max(p, s.RSS)
	}
	return p
}

// Report writes the samples as a markdown table (with the request rate of each interval) and
// the RESULT line bench/run.sh reads.
func (r *Result) Report(w io.Writer) error {
	fmt.Fprintln(w, "| t s | RSS MiB | answers so far | answers/s in the interval |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for i, s := range r.Samples {
		rate := "-"
		if i > 0 {
			prev := r.Samples[i-1]
			if dt := (s.At - prev.At).Seconds(); dt > 0 {
				rate = fmt.Sprintf("%.1f", float64(s.Requests-prev.Requests)/dt)
			}
		}
		fmt.Fprintf(w, "| %.0f | %.1f | %d | %s |\n", s.At.Seconds(), mib(s.RSS), s.Requests, rate)
	}
	first, last, mid := r.Samples[0], r.Samples[len(r.Samples)-1], r.Middle()
	_, err := fmt.Fprintf(w, "RESULT ok=%d other=%d errors=%d bytes=%d duration_s=%.1f rss_start=%d rss_mid=%d rss_end=%d rss_peak=%d hwm=%d\n",
		r.OK, r.Other, r.Errors, r.Bytes, last.At.Seconds(), first.RSS, mid.RSS, last.RSS, r.Peak(), r.HWM)
	return err
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
