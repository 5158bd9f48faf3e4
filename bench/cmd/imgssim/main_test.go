package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noisy is a deterministic textured image: a gradient plus a fixed pattern of amplitude amp.
func noisy(w, h int, amp int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			d := (x*7+y*13)%(2*amp+1) - amp
			v := func(base int) uint8 { return uint8(min(max(base+d, 0), 255)) }
			img.Set(x, y, color.RGBA{v(x * 4 % 256), v(y * 4 % 256), v(128), 255})
		}
	}
	return img
}

func TestRunOnFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, img image.Image) string {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o644)
		return p
	}
	a, b := write("a.png", noisy(32, 32, 8)), write("b.png", noisy(32, 32, 8))
	var out strings.Builder
	if err := run([]string{a, b}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "SSIM=1.00000 ") {
		t.Errorf("output %q", out.String())
	}
	if err := run([]string{a}, &out); err == nil {
		t.Error("one argument accepted")
	}
}
