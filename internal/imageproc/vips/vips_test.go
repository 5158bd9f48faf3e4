package vips

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"runtime"
	"testing"
	"time"
)

func pngOf(t testing.TB, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestProbe(t *testing.T) {
	h, err := Probe(pngOf(t, 40, 30, color.NRGBA{10, 20, 30, 128}))
	if err != nil {
		t.Fatal(err)
	}
	if h.Format != "png" || h.Width != 40 || h.Height != 30 || !h.Alpha || h.Pages != 1 || h.Orientation != 1 {
		t.Fatalf("header %+v", h)
	}
}

func TestProbeRefuses(t *testing.T) {
	tests := []struct {
		name string
		src  string
		kind error
	}{
		{"html", "<!doctype html><html><body>hi</body></html>", ErrUnsupported},
		{"svg", `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`, ErrUnsupported},
		{"pdf", "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", ErrUnsupported},
		{"tiff", "II*\x00\x08\x00\x00\x00\x00\x00", ErrUnsupported},
		{"empty", "", ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Probe([]byte(tt.src))
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
		})
	}
}

func TestThumbnailSaveRoundTrip(t *testing.T) {
	src := pngOf(t, 400, 200, color.NRGBA{200, 40, 40, 255})
	for _, f := range []string{"jpeg", "png", "webp", "avif", "gif"} {
		t.Run(f, func(t *testing.T) {
			im, err := Thumbnail(src, 100, 100, SizeDown, false)
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			out, err := im.Save(SaveOptions{Format: f, Quality: 80, Effort: 4})
			if err != nil {
				t.Fatal(err)
			}
			h, err := Probe(out)
			if err != nil {
				t.Fatal(err)
			}
			if h.Format != f || h.Width != 100 || h.Height != 50 {
				t.Fatalf("got %+v", h)
			}
			back, err := Load(out, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			m, err := back.Mean(10, 10, 80, 30)
			if err != nil {
				t.Fatal(err)
			}
			if d := m[0] - 200; d > 8 || d < -8 || m[1] > 50 {
				t.Fatalf("mean %v, want ~200,40,40", m)
			}
		})
	}
}

// TestCancelStopsEvaluation: a blur that would take seconds stops soon
// after the Canceller fires, with ErrCancelled.
func TestCancelStopsEvaluation(t *testing.T) {
	im, err := Load(pngOf(t, 3000, 3000, color.NRGBA{1, 2, 3, 255}), 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	c := NewCanceller()
	defer c.Close()
	im.Watch(c)
	if err := im.Blur(200); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(50*time.Millisecond, c.Cancel)
	defer timer.Stop()
	start := time.Now()
	_, err = im.Save(SaveOptions{Format: "png", Effort: 1})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v after %v, want ErrCancelled", err, time.Since(start))
	}
	if d := time.Since(start); d > 20*time.Second { // a loose guard: uncancelled, this runs for minutes
		t.Fatalf("cancel took %v", d)
	}
	t.Logf("stopped after %v", time.Since(start))
}

// TestNoLeak: many open/process/close cycles leave libvips' tracked memory
// where it started.
func TestNoLeak(t *testing.T) {
	src := pngOf(t, 300, 300, color.NRGBA{9, 9, 9, 255})
	before := TrackedMem()
	for range 200 {
		im, err := Thumbnail(src, 50, 50, SizeDown, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := im.Blur(1); err != nil {
			t.Fatal(err)
		}
		if _, err := im.Save(SaveOptions{Format: "webp", Quality: 80, Effort: 0}); err != nil {
			t.Fatal(err)
		}
		im.Close()
	}
	runtime.GC()
	if after := TrackedMem(); after > before+1<<20 {
		t.Fatalf("tracked mem %d -> %d", before, after)
	}
}

// halfClear is w x h: the left half opaque red, the right half fully transparent with green
// under the zero alpha (what editors leave in cut-outs).
func halfClear(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= w/2 {
				c = color.NRGBA{0, 255, 0, 0}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func savedNRGBA(t *testing.T, im *Image) *image.NRGBA {
	t.Helper()
	out, err := im.Save(SaveOptions{Format: "png", Effort: 1})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	n, ok := dec.(*image.NRGBA)
	if !ok {
		t.Fatalf("decoded %T, want NRGBA", dec)
	}
	return n
}

// TestResizePremultiplies: the resize weighs colour by alpha, so the green under the
// transparent half never bleeds into the edge's partly transparent pixels; and it matches
// vips_thumbnail's premultiplied resize to a level or so.
func TestResizePremultiplies(t *testing.T) {
	src := halfClear(t, 96, 32)
	im, err := LoadSequential(src, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if err := im.Resize(30, 10); err != nil {
		t.Fatal(err)
	}
	got := savedNRGBA(t, im)
	if b := got.Bounds(); b.Dx() != 30 || b.Dy() != 10 {
		t.Fatalf("resized to %v", b)
	}
	edge := 0
	for i := 0; i < len(got.Pix); i += 4 {
		r, g, a := got.Pix[i], got.Pix[i+1], got.Pix[i+3]
		if a > 8 && (g > 12 || r < 240) {
			t.Fatalf("pixel %d: %v: green bled into the red", i/4, got.Pix[i:i+4])
		}
		if a > 8 && a < 247 {
			edge++
		}
	}
	if edge == 0 {
		t.Fatal("no partly transparent pixel at the edge: the test proves nothing")
	}
	th, err := Thumbnail(src, 30, 10, SizeForce, false)
	if err != nil {
		t.Fatal(err)
	}
	defer th.Close()
	want := savedNRGBA(t, th)
	for i := range got.Pix {
		if i%4 == 3 || want.Pix[i|3] > 8 { // alpha always; colour where it is visible
			if d := int(got.Pix[i]) - int(want.Pix[i]); d > 2 || d < -2 {
				t.Fatalf("sample %d: %d vs vips_thumbnail's %d", i, got.Pix[i], want.Pix[i])
			}
		}
	}
}
