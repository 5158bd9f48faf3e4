package imageproc

import (
	"context"
	"errors"
	"image/color"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// TestImageBombRefused: a header claiming 100 MP is refused from the header
// alone: fast, and without libvips allocating pixel memory.
func TestImageBombRefused(t *testing.T) {
	bombs := map[string][]byte{
		"png":  pngBomb(10000, 10000),
		"jpeg": jpegBomb(t, 10000, 10000),
	}
	for name, src := range bombs {
		t.Run(name, func(t *testing.T) {
			h, err := Probe(src)
			if err != nil || h.Width != 10000 || h.Height != 10000 {
				t.Fatalf("Probe = %+v, %v; want the claimed 10000x10000", h, err)
			}
			before := vips.TrackedMem()
			start := time.Now()
			_, err = Process(context.Background(), src, Spec{Width: 100}, Limits{}, nil)
			took := time.Since(start)
			if !errors.Is(err, ErrUnprocessable) || !strings.Contains(err.Error(), "pixels") {
				t.Fatalf("err = %v, want ErrUnprocessable naming the pixels", err)
			}
			t.Logf("refused in %v", took) // the proof that nothing was decoded is the memory check below
			if grew := vips.TrackedMem() - before; grew > 1<<20 {
				t.Fatalf("libvips allocated %d bytes for a refused bomb", grew)
			}
		})
	}
	// frames count: 3 frames of 3000x3000 are 27 MP, over a 20 MP limit
	gif := animatedGIF(t, 60, 40)
	_, err := Process(context.Background(), gif, Spec{Width: 10}, Limits{MaxSourcePixels: 60 * 40 * 2}, nil)
	if !errors.Is(err, ErrUnprocessable) || !strings.Contains(err.Error(), "3 frames") {
		t.Fatalf("animated pixels: %v", err)
	}
	_, err = Process(context.Background(), gif, Spec{Width: 10}, Limits{MaxSourceBytes: 10}, nil)
	if !errors.Is(err, ErrUnprocessable) || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("source bytes: %v", err)
	}
}

func TestBadSources(t *testing.T) {
	jpg := photoJPEG(t, 400, 300)
	png := encodePNG(t, quadrants(400, 300))
	corrupt := append([]byte{}, jpg[:20]...) // SOI and the start of APP0, then noise
	for i := range 2000 {
		corrupt = append(corrupt, byte(i*7+3))
	}
	tests := []struct {
		name string
		src  []byte
		kind error
	}{
		{"truncated jpeg", jpg[:len(jpg)/2], ErrUnprocessable},
		{"truncated png", png[:len(png)/2], ErrUnprocessable},
		{"garbage after jpeg SOI", corrupt, ErrUnprocessable},
		{"png header only", png[:40], ErrUnprocessable},
		{"html", []byte("<!doctype html><html><head><title>x</title></head><body>not an image</body></html>"), ErrNotImage},
		{"text", []byte("hello, world\n"), ErrNotImage},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`), ErrNotImage},
		{"pdf", []byte("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), ErrNotImage},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00"), ErrNotImage},
		{"empty", nil, ErrNotImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, spec := range []Spec{{Width: 100}, {Format: "webp"}, {Crop: &Rect{W: 50, H: 50}}} {
				_, err := Process(context.Background(), tt.src, spec, Limits{}, nil)
				if !errors.Is(err, tt.kind) {
					t.Fatalf("%s: err = %v, want %v", spec.Canonical(), err, tt.kind)
				}
				var e *Error
				if !errors.As(err, &e) || e.Op == "" || e.Err == nil {
					t.Fatalf("error %v carries no step or reason", err)
				}
			}
		})
	}
}

// TestCorruptScanData: noise inside the entropy-coded data of a JPEG whose
// end marker is intact is what libjpeg calls a warning; libvips decodes it
// (fail_on=truncated, so that real photos with harmless junk still serve).
// The test asserts it never crashes and answers an image or ErrUnprocessable.
func TestCorruptScanData(t *testing.T) {
	jpg := append([]byte{}, photoJPEG(t, 400, 300)...)
	for i := len(jpg) / 2; i < len(jpg)/2+500; i++ {
		jpg[i] = byte(i * 13)
	}
	res, err := Process(context.Background(), jpg, Spec{Width: 100}, Limits{}, nil)
	if err != nil && !errors.Is(err, ErrUnprocessable) {
		t.Fatalf("err = %v", err)
	}
	if err == nil && res.Width != 100 {
		t.Fatalf("width %d", res.Width)
	}
}

// TestTimeout: a blur far beyond the deadline stops soon after it, with
// ErrTimeout, instead of running to completion (which takes seconds).
func TestTimeout(t *testing.T) {
	src := photoJPEG(t, 2000, 1500)
	start := time.Now()
	_, err := Process(context.Background(), src, Spec{Blur: MaxBlurSigma, Format: "png"}, Limits{Timeout: 100 * time.Millisecond}, nil)
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v after %v, want ErrTimeout", err, took)
	}
	if took > 20*time.Second { // a loose guard: unstopped, this blur runs for minutes
		t.Fatalf("stopped only after %v", took)
	}
	t.Logf("stopped after %v", took)
	// a caller's context that is already over stops before any work
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Process(ctx, src, Spec{Width: 10}, Limits{}, nil); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

// TestNoLeak runs 500 jobs and checks that libvips' tracked memory returns to
// its baseline and the process RSS stays within a bound.
func TestNoLeak(t *testing.T) {
	srcs := [][]byte{
		photoJPEG(t, 320, 240),
		encodePNG(t, halfAlpha(200, 100)),
		animatedGIF(t, 40, 30),
	}
	specs := []Spec{
		{Width: 100, Format: "webp"},
		{Width: 80, Height: 80, Mode: "fill", Gravity: "smart", Format: "jpeg"},
		{Crop: &Rect{W: 50, H: 50}, Rotate: 90, Blur: 1, Format: "png"},
		{Width: 60, Format: "gif", Brightness: 10},
		{Width: 90, Height: 90, Mode: "pad", Background: "ff0000"},
	}
	run := func(n int) {
		for i := range n {
			_, err := Process(context.Background(), srcs[i%len(srcs)], specs[i%len(specs)], Limits{}, nil)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	run(50) // warm up allocators and libvips' per-thread state
	runtime.GC()
	memBefore, rssBefore := vips.TrackedMem(), rss(t)
	run(500)
	runtime.GC()
	memAfter, rssAfter := vips.TrackedMem(), rss(t)
	t.Logf("vips tracked %d -> %d bytes, RSS %d -> %d KB", memBefore, memAfter, rssBefore>>10, rssAfter>>10)
	if memAfter > memBefore+1<<20 {
		t.Fatalf("libvips tracked memory grew %d -> %d", memBefore, memAfter)
	}
	if rssBefore > 0 && rssAfter > rssBefore+64<<20 {
		t.Fatalf("RSS grew %d -> %d KB", rssBefore>>10, rssAfter>>10)
	}
}

// rss reads the resident set size from /proc (0 where there is none).
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

func TestLimitsValidate(t *testing.T) {
	var l Limits
	l.SetDefaults()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	if l.MaxSourceBytes != 50<<20 || l.MaxSourcePixels != 50_000_000 || l.MaxOutputWidth != 8192 || l.Timeout != 10*time.Second {
		t.Fatalf("defaults %+v", l)
	}
	for _, bad := range []Limits{
		{MaxSourceBytes: -1, MaxSourcePixels: 1, MaxOutputWidth: 1, MaxOutputHeight: 1, Timeout: 1},
		{MaxSourceBytes: 1, MaxSourcePixels: -1, MaxOutputWidth: 1, MaxOutputHeight: 1, Timeout: 1},
		{MaxSourceBytes: 1, MaxSourcePixels: 1, MaxOutputWidth: -1, MaxOutputHeight: 1, Timeout: 1},
		{MaxSourceBytes: 1, MaxSourcePixels: 1, MaxOutputWidth: 1, MaxOutputHeight: 1, Timeout: -1},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestMaxOutputClamps: results larger than MaxOutput are scaled down to fit
// (not refused), the rotation taken into account.
func TestMaxOutputClamps(t *testing.T) {
	src := encodePNG(t, flat(400, 200, color.NRGBA{1, 2, 3, 255}))
	lim := Limits{MaxOutputWidth: 150, MaxOutputHeight: 300}
	tests := []struct {
		spec Spec
		w, h int
	}{
		{Spec{Width: 300, Upscale: true}, 150, 75},
		{Spec{Width: 100, DPR: 3}, 150, 75},
		{Spec{Width: 300, Height: 300, Mode: "fill"}, 150, 150},
		{Spec{Format: "png"}, 150, 75},
		{Spec{Rotate: 90, Format: "png"}, 150, 300},
	}
	for _, tt := range tests {
		res, err := Process(context.Background(), src, tt.spec, lim, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Width != tt.w || res.Height != tt.h {
			t.Errorf("%s: %dx%d, want %dx%d", tt.spec.Canonical(), res.Width, res.Height, tt.w, tt.h)
		}
	}
}
