package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report gathers the measures and prints them as markdown tables.
type report struct {
	sourcesNote string
	header      []string
	quals       map[string]map[string]quality   // case -> server -> output
	runs        map[string]map[string][]measure // case -> server -> rounds
	cases       []workload
	servers     []string
}

func (r *report) describe(srcDir string, servers []*server) error {
	r.header = append(r.header, fmt.Sprintf("Run %s, %d CPUs, load average at the start %s.",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), loadAvgNow()))
	var files []string
	for _, f := range []string{"photo.jpg", "alpha.png"} {
		st, err := os.Stat(filepath.Join(srcDir, f))
		if err != nil {
			return err
		}
		w, _ := vipsheader(filepath.Join(srcDir, f), "width")
		h, _ := vipsheader(filepath.Join(srcDir, f), "height")
		b, _ := vipsheader(filepath.Join(srcDir, f), "bands")
		files = append(files, fmt.Sprintf("%s %dx%d, %d bands, %d bytes", f, w, h, b, st.Size()))
	}
	r.header = append(r.header, "Sources: "+r.sourcesNote+": "+strings.Join(files, "; ")+".")
	for _, s := range servers {
		r.header = append(r.header, fmt.Sprintf("- %s: %s", s.name, s.info))
		r.servers = append(r.servers, s.name)
	}
	r.header = append(r.header, fmt.Sprintf("Load: %d concurrent requests for %v per workload and server, each URL distinct; %d round(s).", *conns, *duration, *rounds))
	return nil
}

func (r *report) quality(c workload, server string, q quality) {
	if r.quals == nil {
		r.quals, r.runs = map[string]map[string]quality{}, map[string]map[string][]measure{}
	}
	if r.quals[c.name] == nil {
		r.quals[c.name], r.runs[c.name] = map[string]quality{}, map[string][]measure{}
		r.cases = append(r.cases, c)
	}
	r.quals[c.name][server] = q
}

func (r *report) run(c workload, server string, m measure) {
	r.runs[c.name][server] = append(r.runs[c.name][server], m)
}

// print writes the per-run table, then per workload the summary with the ratio.
func (r *report) print(w io.Writer) {
	for _, l := range r.header {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | server | round | images/s | CPU ms / image | failures | mean bytes | other CPU % | load average before → after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, c := range r.cases {
		for _, s := range r.servers {
			for i, m := range r.runs[c.name][s] {
				fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.2f | %d | %.0f | %.0f | %s → %s |\n", c.name, s, i+1,
					m.perSecond(), m.cpuPerImage(), m.failures, m.meanBytes(), m.otherPct, m.loadBefore, m.loadAfter)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| workload | q | server | output | bytes | SSIM (R, G, B mean) | CPU ms / image (median of rounds) | ratio to imgproxy |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, c := range r.cases {
		ref := median(r.runs[c.name]["imgproxy"])
		for _, s := range r.servers {
			q, cpu := r.quals[c.name][s], median(r.runs[c.name][s])
			ratio := ""
			if s != "imgproxy" && ref > 0 {
				ratio = fmt.Sprintf("**%.2f**", cpu/ref)
			}
			fmt.Fprintf(w, "| %s | %d | %s | %dx%d %s | %d | %.4f | %.2f | %s |\n", c.name, c.quality, s, q.width, q.height,
				c.format, q.bytes, q.ssim.Mean(), cpu, ratio)
		}
	}
	fmt.Fprintf(w, "\nLoad average at the end: %s.\n", loadAvgNow())
}

// median of the rounds' CPU per image.
func median(ms []measure) float64 {
	if len(ms) == 0 {
		return 0
	}
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = m.cpuPerImage()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
