// Command imgcmp measures pixcdn's image pipeline beside imgproxy's in one run
// (docs/BENCHMARKS.md section 14): both servers read the same source files from their own
// directory origin (pixcdn: a domain with `origin.root` and `Cache-Control: no-store`, so neither
// source nor variant is stored; imgproxy: IMGPROXY_LOCAL_FILESYSTEM_ROOT, unsigned URLs), run the
// same number of image workers, and get the same bounded concurrent load for each workload, one
// server after the other. Every request has a URL of its own (a `cb` parameter; imgproxy's
// `cachebuster` option) so that neither coalesces identical requests: each answer is a transform.
//
// For each workload and server it reports the server's CPU time per image (utime+stime from
// /proc/PID/stat over the load, divided by the images answered), images per second, output
// bytes, and the SSIM of the output against one reference made by the libvips CLI from the
// full-size source (`vips resize` with lanczos3 to the same size, premultiplied when there is
// alpha); then the ratio pixcdn / imgproxy. The machine's load average and the CPU other
// processes used meanwhile are printed for every run: the cores are shared.
//
// Encoder settings are matched: the quality is in both URLs, WebP effort 4 on both, AVIF
// effort -avif-effort on pixcdn's side is what pixcdn's pipeline uses and imgproxy gets
// IMGPROXY_AVIF_SPEED = 9 - effort; JPEG is baseline on both at these sizes (imgproxy's default;
// pixcdn's below 100 000 output pixels). imgproxy's other defaults stay (-imgproxy-env adds
// settings). imgproxy is a reference program built from its release tag (never committed).
//
//	go run ./bench/cmd/imgcmp -imgproxy /tmp/imgproxy-ref/imgproxy -sources demo -d 20s
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
)

var (
	imgproxyBin = flag.String("imgproxy", "", "the imgproxy binary (empty: pixcdn only)")
	pixcdnBin   = flag.String("bin", "", "the pixcdn binary (default: go build ./cmd/pixcdn into a temp dir)")
	sources     = flag.String("sources", "demo", "demo (the demo site's lake photo and alpha badge) or a directory holding photo.jpg and alpha.png")
	conns       = flag.Int("c", 8, "concurrent requests of the load, on each server")
	duration    = flag.Duration("d", 20*time.Second, "length of the load per workload and server")
	rounds      = flag.Int("rounds", 1, "times each workload is measured on each server (the order alternates)")
	workers     = flag.Int("workers", 2, "image workers of both servers (pixcdn images.workers, IMGPROXY_WORKERS)")
	caseList    = flag.String("cases", "a,b,c,d", "workloads to run: a (JPEG → 300 px JPEG), b (→ WebP), c (→ AVIF), d (PNG with alpha → 512 px WebP)")
	avifEffort  = flag.Int("avif-effort", 2, "AVIF effort pixcdn's pipeline uses; imgproxy gets IMGPROXY_AVIF_SPEED=9-effort")
	imgproxyEnv = flag.String("imgproxy-env", "", "extra imgproxy settings, comma-separated KEY=VALUE (e.g. IMGPROXY_JPEG_PROGRESSIVE=true)")
	also        = flag.String("also", "", "more pixcdn builds measured in the same run, comma-separated NAME=BINARY (e.g. before=/tmp/pixcdn-main)")
	keep        = flag.String("keep", "", "directory to keep the sources, outputs and references in (default: removed)")
)

func main() {
	flag.Parse()
	children.OnSignal("imgcmp", nil)
	err := run()
	children.StopAll()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imgcmp:", err)
		os.Exit(1)
	}
}

func run() error {
	cases, err := pickCases(*caseList)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "pixcdn-imgcmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	outDir := *keep
	if outDir == "" {
		outDir = work
	}
	srcDir, note, err := prepareSources(outDir, *sources)
	if err != nil {
		return err
	}
	bin := *pixcdnBin
	if bin == "" {
		if bin, err = children.BuildPixcdn(work); err != nil {
			return err
		}
	}
	builds := [][2]string{{"pixcdn", bin}}
	for _, nb := range strings.Split(*also, ",") {
		if name, b, ok := strings.Cut(strings.TrimSpace(nb), "="); ok {
			builds = append(builds, [2]string{"pixcdn-" + name, b})
		} else if nb != "" {
			return fmt.Errorf("-also %q: want NAME=BINARY", nb)
		}
	}
	var servers []*server
	for _, b := range builds {
		px, err := startPixcdn(work, b[0], b[1], srcDir)
		if err != nil {
			return err
		}
		servers = append(servers, px)
	}
	if *imgproxyBin != "" {
		ip, err := startImgproxy(work, *imgproxyBin, srcDir)
		if err != nil {
			return err
		}
		servers = append(servers, ip)
	}
	rep := &report{sourcesNote: note}
	if err := rep.describe(srcDir, servers); err != nil {
		return err
	}
	for _, c := range cases {
		if err := measureCase(c, srcDir, outDir, servers, rep); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	rep.print(os.Stdout)
	return nil
}

// measureCase checks one answer of each server (kept for the SSIM), then loads each server in
// turn, rounds times, the order reversed every other round.
func measureCase(c workload, srcDir, outDir string, servers []*server, rep *report) error {
	ref, err := reference(c, srcDir, outDir)
	if err != nil {
		return err
	}
	for _, s := range servers {
		q, err := checkQuality(c, s, ref, outDir)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		rep.quality(c, s.name, q)
	}
	for r := range *rounds {
		order := servers
		if r%2 == 1 {
			order = reversed(servers)
		}
		for _, s := range order {
			fmt.Fprintf(os.Stderr, "imgcmp: %s on %s, round %d, %v...\n", c.name, s.name, r+1, *duration)
			m, err := load(c, s, *conns, *duration)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			fmt.Fprintf(os.Stderr, "imgcmp:   %.1f images/s, %.2f CPU ms / image, other CPU %.0f %%, load %s\n",
				m.perSecond(), m.cpuPerImage(), m.otherPct, m.loadAfter)
			if m.failures > 0 {
				fmt.Fprintf(os.Stderr, "imgcmp:   %d failures, the last: %s\n", m.failures, m.lastFail)
			}
			rep.run(c, s.name, m)
		}
	}
	return nil
}

func reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// pickCases selects workloads by their letters.
func pickCases(list string) ([]workload, error) {
	var out []workload
	for _, l := range strings.Split(list, ",") {
		found := false
		for _, c := range workloads {
			if c.letter == strings.TrimSpace(l) {
				out, found = append(out, c), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown case %q (a, b, c or d)", l)
		}
	}
	return out, nil
}
