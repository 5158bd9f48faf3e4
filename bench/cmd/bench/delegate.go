package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/children"
)

// runControl is section 10, bench/cmd/control, with the pixcdn built for this run; arguments
// after "--" go to it (`bench control -- -part purge -edges 5`).
func runControl(s *session) { s.delegate("control") }

// runRouter is section 11, bench/cmd/router (dnsperf installed when missing).
func runRouter(s *session) {
	ensurePkg("dnsperf", "dnsperf")
	s.delegate("router")
}

// runImgcmp is section 14, bench/cmd/imgcmp: pixcdn's image CPU beside imgproxy's
// (-imgproxy, IMGPROXY_BIN; built from its release tag, never committed) on the sources of
// section 7 (-img-sources); BENCH_IMGCMP_ARGS, or the arguments after "--", go to imgcmp
// (-rounds 3 -d 15s, -also before=BINARY ...).
func runImgcmp(s *session) {
	s.measure = "imgcmp"
	if st, err := os.Stat(s.k.imgproxy); err != nil || st.Mode()&0o111 == 0 {
		fail("no imgproxy at %s (build its release tag, see docs/BENCHMARKS.md section 14, or set IMGPROXY_BIN)", s.k.imgproxy)
	}
	ensurePkg("vips", "libvips-tools")
	dir := filepath.Join(s.work, "images")
	if s.k.imgSources == "demo" {
		s.imgDemoSources(dir)
	} else {
		s.imgGen(dir)
	}
	copyFile(filepath.Join(dir, "photo.jpg"), s.rawPath("photo.jpg"))
	copyFile(filepath.Join(dir, "alpha.png"), s.rawPath("alpha.png"))
	args := []string{"-imgproxy", s.k.imgproxy, "-sources", dir}
	args = append(args, strings.Fields(os.Getenv("BENCH_IMGCMP_ARGS"))...)
	s.delegate("imgcmp", args...)
}

// delegate builds bench/cmd/NAME and runs it with -bin (the pixcdn of this run), args and the
// arguments after "--"; its markdown goes to the report as it comes, its progress to stderr.
func (s *session) delegate(name string, args ...string) {
	s.measure = name
	bin := filepath.Join(s.bin, name)
	s.goCmd(5*time.Minute, filepath.Join(s.work, "build-"+name+".txt"), "build", "-o", bin, "./bench/cmd/"+name)
	args = append(append([]string{"-bin", filepath.Join(s.bin, "pixcdn")}, args...), s.extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.root // the programs find their module (go test, bench/wrk) from here
	cmd.Stdout, cmd.Stderr = s.rep, os.Stderr
	if _, err := children.Run(name, cmd, 2*time.Hour); err != nil {
		fail("bench/cmd/%s: %v", name, err)
	}
}
