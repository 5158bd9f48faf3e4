package main

import (
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pixcdn/pixcdn/bench/internal/ssim"
)

// quality is one server's output for a workload, compared with the reference.
type quality struct {
	bytes         int
	width, height int
	ssim          ssim.Channels
}

// reference is the workload's ideal output: the full-size source resized by libvips' CLI
// (lanczos3, the exact scale, no shrink-on-load; premultiplied when the source has alpha) and
// saved as PNG, decoded. Both servers' outputs are measured against this one image.
func reference(c workload, srcDir, outDir string) (image.Image, error) {
	src := filepath.Join(srcDir, c.src)
	w, err := vipsheader(src, "width")
	if err != nil {
		return nil, err
	}
	bands, err := vipsheader(src, "bands")
	if err != nil {
		return nil, err
	}
	scale := strconv.FormatFloat(float64(c.width)/float64(w), 'g', -1, 64)
	dir := filepath.Join(outDir, "ref-"+c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	at := func(n string) string { return filepath.Join(dir, n) }
	steps := [][]string{{"resize", src, at("r.v"), scale, "--kernel", "lanczos3"}, {"copy", at("r.v"), at("ref.png")}}
	if bands == 2 || bands == 4 {
		steps = [][]string{
			{"premultiply", src, at("p.v")},
			{"resize", at("p.v"), at("r.v"), scale, "--kernel", "lanczos3"},
			{"unpremultiply", at("r.v"), at("u.v")},
			{"cast", at("u.v"), at("c.v"), "uchar"},
			{"copy", at("c.v"), at("ref.png")},
		}
	}
	for _, s := range steps {
		if out, err := exec.Command("vips", s...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("vips %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	for _, n := range []string{"p.v", "r.v", "u.v", "c.v"} {
		os.Remove(at(n))
	}
	return ssim.ReadPNG(at("ref.png"))
}

// checkQuality asks s for the workload once, keeps the output and compares it with ref.
func checkQuality(c workload, s *server, ref image.Image, outDir string) (quality, error) {
	body, err := get(s.url(c, urlSeq.Add(1)), contentTypes[c.format])
	if err != nil {
		return quality{}, err
	}
	out := filepath.Join(outDir, fmt.Sprintf("%s-%s.%s", c.name, s.name, c.format))
	if err := os.WriteFile(out, body, 0o644); err != nil {
		return quality{}, err
	}
	if b, err := exec.Command("vips", "copy", out, out+".png").CombinedOutput(); err != nil {
		return quality{}, fmt.Errorf("vips copy %s: %v: %s", out, err, b)
	}
	img, err := ssim.ReadPNG(out + ".png")
	if err != nil {
		return quality{}, err
	}
	q := quality{bytes: len(body), width: img.Bounds().Dx(), height: img.Bounds().Dy()}
	if q.width != c.width {
		return q, fmt.Errorf("output is %dx%d, want width %d", q.width, q.height, c.width)
	}
	q.ssim, err = ssim.SSIM(ref, img)
	return q, err
}

func vipsheader(file, field string) (int, error) {
	out, err := exec.Command("vipsheader", "-f", field, file).Output()
	if err != nil {
		return 0, fmt.Errorf("vipsheader -f %s %s: %w (is libvips-tools installed?)", field, file, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}
