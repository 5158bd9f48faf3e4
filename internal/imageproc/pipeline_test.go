package imageproc

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"testing"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

func process(t *testing.T, src []byte, s Spec) Result {
	t.Helper()
	res, err := Process(context.Background(), src, s, Limits{}, nil)
	if err != nil {
		t.Fatalf("Process(%s): %v", s.Canonical(), err)
	}
	return res
}

// outHeader probes an output, checking it is what Result says.
func outHeader(t *testing.T, res Result) vips.Header {
	t.Helper()
	h, err := vips.Probe(res.Body)
	if err != nil {
		t.Fatalf("probe output: %v", err)
	}
	if h.Format != res.Format || h.Width != res.Width || h.Height != res.Height {
		t.Fatalf("output is %s %dx%d, Result says %s %dx%d", h.Format, h.Width, h.Height, res.Format, res.Width, res.Height)
	}
	return h
}

// region is the mean colour (and deviation) of an output over the area
// given in fractions of its size; it decodes the first frame as sRGB.
func region(t *testing.T, body []byte, fx, fy, fw, fh float64) (mean, dev []float64) {
	t.Helper()
	im, err := vips.Load(body, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	if err := im.ToSRGB(); err != nil {
		t.Fatal(err)
	}
	w, h := float64(im.Width()), float64(im.Height())
	mean, dev, err = im.Stats(int(fx*w), int(fy*h), max(int(fw*w), 1), max(int(fh*h), 1))
	if err != nil {
		t.Fatal(err)
	}
	return mean, dev
}

// near reports whether the first three bands of got are within tol of want.
func near(got []float64, want color.NRGBA, tol float64) bool {
	w := []float64{float64(want.R), float64(want.G), float64(want.B)}
	for i := range 3 {
		if math.Abs(got[i]-w[i]) > tol {
			return false
		}
	}
	return true
}

func wantColour(t *testing.T, body []byte, fx, fy, fw, fh float64, want color.NRGBA, tol float64) {
	t.Helper()
	if m, _ := region(t, body, fx, fy, fw, fh); !near(m, want, tol) {
		t.Errorf("region (%.2f,%.2f %.2fx%.2f) mean %.0f, want ~%v", fx, fy, fw, fh, m, want)
	}
}

func TestResizeModes(t *testing.T) {
	src := encodePNG(t, quadrants(400, 200))
	tests := []struct {
		name string
		spec Spec
		w, h int
	}{
		{"fit box", Spec{Width: 100, Height: 100}, 100, 50},
		{"fit portrait box", Spec{Width: 100, Height: 300, Mode: "fit"}, 100, 50},
		{"width only", Spec{Width: 100}, 100, 50},
		{"height only", Spec{Height: 50}, 100, 50},
		{"fill", Spec{Width: 100, Height: 100, Mode: "fill"}, 100, 100},
		{"fill portrait box", Spec{Width: 50, Height: 100, Mode: "fill"}, 50, 100},
		{"fill wide box", Spec{Width: 200, Height: 50, Mode: "fill"}, 200, 50},
		{"pad", Spec{Width: 100, Height: 100, Mode: "pad"}, 100, 100},
		{"exact", Spec{Width: 100, Height: 100, Mode: "exact"}, 100, 100},
		{"exact no upscale keeps box aspect", Spec{Width: 800, Height: 800, Mode: "exact"}, 200, 200},
		{"min", Spec{Width: 100, Height: 100, Mode: "min"}, 200, 100},
		{"long side", Spec{Long: 100}, 100, 50},
		{"short side", Spec{Short: 50}, 100, 50},
		{"percent", Spec{Percent: 25}, 100, 50},
		{"no upscale", Spec{Width: 800}, 400, 200},
		{"upscale", Spec{Width: 800, Upscale: true}, 800, 400},
		{"fill no upscale keeps aspect", Spec{Width: 800, Height: 800, Mode: "fill"}, 200, 200},
		{"dpr", Spec{Width: 100, DPR: 2}, 200, 100},
		{"dpr no upscale", Spec{Width: 300, DPR: 2}, 400, 200},
		{"none", Spec{Format: "png"}, 400, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := process(t, src, tt.spec)
			h := outHeader(t, res)
			if h.Width != tt.w || h.Height != tt.h {
				t.Fatalf("%s: got %dx%d, want %dx%d", tt.spec.Canonical(), h.Width, h.Height, tt.w, tt.h)
			}
		})
	}
}

func TestFillGravityAndPadContent(t *testing.T) {
	src := encodePNG(t, quadrants(400, 200))
	// west: the left half of the 200x100 resize is red over blue
	res := process(t, src, Spec{Width: 100, Height: 100, Mode: "fill", Gravity: "west"})
	wantColour(t, res.Body, 0.1, 0.1, 0.3, 0.3, red, 12)
	wantColour(t, res.Body, 0.6, 0.6, 0.3, 0.3, blue, 12)
	res = process(t, src, Spec{Width: 100, Height: 100, Mode: "fill", Gravity: "east"})
	wantColour(t, res.Body, 0.1, 0.1, 0.3, 0.3, green, 12)
	// pad: 100x50 image centred, bars above and below in the asked colour
	res = process(t, src, Spec{Width: 100, Height: 100, Mode: "pad", Background: "ff00ff", Format: "jpeg"})
	wantColour(t, res.Body, 0, 0, 1, 0.2, color.NRGBA{255, 0, 255, 255}, 8)
	wantColour(t, res.Body, 0.05, 0.3, 0.4, 0.15, red, 12)
	// pad to PNG without a background: transparent bars
	res = process(t, src, Spec{Width: 100, Height: 100, Mode: "pad"})
	if h := outHeader(t, res); !h.Alpha {
		t.Fatal("padded PNG has no alpha")
	}
	if m, _ := region(t, res.Body, 0, 0, 1, 0.2); m[3] != 0 {
		t.Fatalf("pad bars alpha %.0f, want 0", m[3])
	}
	// pad to JPEG without a background: white
	res = process(t, src, Spec{Width: 100, Height: 100, Mode: "pad", Format: "jpeg"})
	wantColour(t, res.Body, 0, 0, 1, 0.2, color.NRGBA{255, 255, 255, 255}, 4)
}

// TestSmartCrop: the only detailed, saturated object sits at the right
// edge; a centre crop misses it, "smart" keeps it.
func TestSmartCrop(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 400, 200))
	for y := range 200 {
		for x := range 400 {
			c := color.NRGBA{128, 128, 128, 255}
			if x >= 320 && y >= 40 && y < 160 {
				c = color.NRGBA{250, 20, 20, 255}
				if (x/6+y/6)%2 == 0 {
					c = color.NRGBA{250, 220, 0, 255}
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	src := encodePNG(t, img)
	centre := process(t, src, Spec{Width: 200, Height: 200, Mode: "fill"})
	smart := process(t, src, Spec{Width: 200, Height: 200, Mode: "fill", Gravity: "smart"})
	if h := outHeader(t, smart); h.Width != 200 || h.Height != 200 {
		t.Fatalf("smart crop is %dx%d", h.Width, h.Height)
	}
	if _, dev := region(t, centre.Body, 0, 0, 1, 1); dev[1] > 5 {
		t.Fatalf("centre crop should be flat grey, deviation %.1f", dev[1])
	}
	if m, _ := region(t, smart.Body, 0.6, 0.2, 0.4, 0.6); m[0]-m[2] < 100 {
		t.Fatalf("smart crop missed the object: right side mean %.0f", m)
	}
}

func TestCropRect(t *testing.T) {
	src := encodePNG(t, quadrants(400, 200))
	tests := []struct {
		name  string
		rect  Rect
		w, h  int
		first color.NRGBA // colour at the top-left of the result
	}{
		{"top right quadrant", Rect{X: 200, W: 200, H: 100}, 200, 100, green},
		{"southeast anchor", Rect{W: 100, H: 50, Anchor: "southeast"}, 100, 50, yellow},
		{"offset from southwest", Rect{X: 10, Y: 10, W: 100, H: 50, Anchor: "southwest"}, 100, 50, blue},
		{"to the edges", Rect{X: 300, Y: 150}, 100, 50, yellow},
		{"clipped", Rect{X: 350, Y: 0, W: 200, H: 50}, 50, 50, green},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rect
			res := process(t, src, Spec{Crop: &r})
			h := outHeader(t, res)
			if h.Width != tt.w || h.Height != tt.h {
				t.Fatalf("got %dx%d, want %dx%d", h.Width, h.Height, tt.w, tt.h)
			}
			wantColour(t, res.Body, 0, 0, 0.2, 0.2, tt.first, 10)
		})
	}
	r := Rect{X: 500, Y: 0, W: 10, H: 10}
	if _, err := Process(context.Background(), src, Spec{Crop: &r}, Limits{}, nil); !errors.Is(err, ErrUnprocessable) {
		t.Fatalf("crop outside the image: %v, want ErrUnprocessable", err)
	}
}

// TestCropThenResizeShrinksOnLoad: a crop rectangle with a small output
// loads the JPEG shrunk, and the result still shows the right area.
func TestCropThenResizeShrinksOnLoad(t *testing.T) {
	src := encodeJPEG(t, quadrants(2000, 1000))
	r := Rect{X: 1000, Y: 500, W: 1000, H: 500}
	res := process(t, src, Spec{Crop: &r, Width: 100})
	if h := outHeader(t, res); h.Width != 100 || h.Height != 50 {
		t.Fatalf("got %dx%d", h.Width, h.Height)
	}
	wantColour(t, res.Body, 0.1, 0.1, 0.8, 0.8, yellow, 12)
	if got := shrinkFor(1000, 500, 100, 50); got != 8 {
		t.Fatalf("shrinkFor = %d, want 8", got)
	}
	if got := shrinkFor(1000, 500, 300, 150); got != 2 {
		t.Fatalf("shrinkFor = %d, want 2", got)
	}
}

func TestOrientation(t *testing.T) {
	src := encodePNG(t, quadrants(400, 200))
	tests := []struct {
		name string
		spec Spec
		w, h int
		tl   color.NRGBA
	}{
		{"rotate 90", Spec{Rotate: 90}, 200, 400, blue},
		{"rotate 180", Spec{Rotate: 180}, 400, 200, yellow},
		{"rotate 270", Spec{Rotate: 270}, 200, 400, green},
		{"flip h", Spec{FlipH: true}, 400, 200, green},
		{"flip v", Spec{FlipV: true}, 400, 200, blue},
		{"flip hv", Spec{FlipH: true, FlipV: true}, 400, 200, yellow},
		{"resize then rotate", Spec{Width: 100, Rotate: 90}, 50, 100, blue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := process(t, src, tt.spec)
			if h := outHeader(t, res); h.Width != tt.w || h.Height != tt.h {
				t.Fatalf("got %dx%d, want %dx%d", h.Width, h.Height, tt.w, tt.h)
			}
			wantColour(t, res.Body, 0.05, 0.05, 0.2, 0.2, tt.tl, 12)
		})
	}
}

// TestAutoOrient: EXIF orientation 6 (rotate 90 clockwise to display) is
// applied by default and ignored with NoAutoOrient.
func TestAutoOrient(t *testing.T) {
	src := withOrientation(encodeJPEG(t, quadrants(400, 200)), 6)
	if h, err := Probe(src); err != nil || h.Orientation != 6 {
		t.Fatalf("probe: %+v, %v", h, err)
	}
	for _, spec := range []Spec{{Format: "jpeg"}, {Width: 100}, {Crop: &Rect{W: 100, H: 300}}} {
		res := process(t, src, spec)
		h := outHeader(t, res)
		if h.Width >= h.Height {
			t.Fatalf("%s: %dx%d not turned upright", spec.Canonical(), h.Width, h.Height)
		}
		wantColour(t, res.Body, 0.05, 0.05, 0.2, 0.2, blue, 14)
		if h.Orientation != 1 || h.HasEXIF {
			t.Fatalf("%s: output still has orientation %d / EXIF %v", spec.Canonical(), h.Orientation, h.HasEXIF)
		}
	}
	res := process(t, src, Spec{NoAutoOrient: true, Width: 200})
	if h := outHeader(t, res); h.Width != 200 || h.Height != 100 || h.Orientation != 1 {
		t.Fatalf("NoAutoOrient: %dx%d orientation %d", h.Width, h.Height, h.Orientation)
	}
	wantColour(t, res.Body, 0.05, 0.05, 0.2, 0.2, red, 14)
}

func TestEffects(t *testing.T) {
	quads := encodePNG(t, quadrants(200, 100))
	// blur mixes red and green at the vertical boundary; without it the
	// strip just left of the boundary stays red.
	plain := process(t, quads, Spec{Format: "png"})
	blurred := process(t, quads, Spec{Blur: 5, Format: "png"})
	if m, _ := region(t, plain.Body, 0.47, 0.1, 0.03, 0.3); m[1] > 40 {
		t.Fatalf("unblurred boundary green %.0f", m[1])
	}
	if m, _ := region(t, blurred.Body, 0.47, 0.1, 0.03, 0.3); m[1] < 60 {
		t.Fatalf("blurred boundary green %.0f, want mixed", m[1])
	}
	// sharpen raises local contrast of a soft photo
	photo := photoJPEG(t, 400, 300)
	soft := process(t, photo, Spec{Blur: 2, Format: "png"})
	sharp := process(t, photo, Spec{Blur: 2, Sharpen: 3, Format: "png"})
	_, d0 := region(t, soft.Body, 0, 0, 1, 1)
	_, d1 := region(t, sharp.Body, 0, 0, 1, 1)
	if d1[1] <= d0[1] {
		t.Fatalf("sharpen: deviation %.2f -> %.2f, want higher", d0[1], d1[1])
	}
	grey := encodePNG(t, flat(64, 64, color.NRGBA{100, 100, 100, 255}))
	tests := []struct {
		spec Spec
		want uint8
	}{
		{Spec{Brightness: 20, Format: "png"}, 151},               // +51
		{Spec{Brightness: -20, Format: "png"}, 49},               // -51
		{Spec{Contrast: 50, Format: "png"}, 86},                  // 1.5*(100-128)+128
		{Spec{Contrast: -50, Format: "png"}, 114},                // 0.5*(100-128)+128
		{Spec{Brightness: 10, Contrast: 50, Format: "png"}, 112}, // 86+25.5
	}
	for _, tt := range tests {
		res := process(t, grey, tt.spec)
		wantColour(t, res.Body, 0, 0, 1, 1, color.NRGBA{tt.want, tt.want, tt.want, 255}, 1.5)
	}
	// alpha survives a brightness change
	res := process(t, encodePNG(t, halfAlpha(64, 64)), Spec{Brightness: 10})
	if m, _ := region(t, res.Body, 0.6, 0, 0.4, 1); len(m) != 4 || m[3] != 0 {
		t.Fatalf("transparent half after brightness: %v", m)
	}
}

func TestBackground(t *testing.T) {
	src := encodePNG(t, halfAlpha(100, 50))
	res := process(t, src, Spec{Format: "jpeg", Background: "0000ff"})
	wantColour(t, res.Body, 0.6, 0, 0.4, 1, color.NRGBA{0, 0, 255, 255}, 6)
	wantColour(t, res.Body, 0, 0, 0.4, 1, red, 8)
	res = process(t, src, Spec{Format: "jpeg"})
	wantColour(t, res.Body, 0.6, 0, 0.4, 1, color.NRGBA{255, 255, 255, 255}, 4)
	// PNG keeps transparency unless a background is asked
	res = process(t, src, Spec{Width: 50})
	if h := outHeader(t, res); !h.Alpha {
		t.Fatal("PNG output lost its alpha")
	}
	res = process(t, src, Spec{Width: 50, Background: "00ff00"})
	if h := outHeader(t, res); h.Alpha {
		t.Fatal("PNG with a background kept its alpha")
	}
	wantColour(t, res.Body, 0.6, 0, 0.4, 1, color.NRGBA{0, 255, 0, 255}, 4)
}

func TestWatermark(t *testing.T) {
	base := encodePNG(t, flat(200, 200, color.NRGBA{255, 255, 255, 255}))
	mark := encodePNG(t, flat(20, 20, color.NRGBA{0, 0, 0, 255}))
	var asked []string
	fetch := func(_ context.Context, path string) ([]byte, error) {
		asked = append(asked, path)
		if path != "/logo.png" {
			return nil, errors.New("404")
		}
		return mark, nil
	}
	run := func(m Mark) Result {
		t.Helper()
		res, err := Process(context.Background(), base, Spec{Format: "png", Watermark: &m}, Limits{}, fetch)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(Mark{Path: "/logo.png", Gravity: "southeast", X: 10, Y: 10, Opacity: 50})
	// the mark covers 170..190: half-opaque black over white is ~128
	wantColour(t, res.Body, 172.0/200, 172.0/200, 16.0/200, 16.0/200, color.NRGBA{128, 128, 128, 255}, 4)
	wantColour(t, res.Body, 0, 0, 0.5, 0.5, color.NRGBA{255, 255, 255, 255}, 1)
	wantColour(t, res.Body, 192.0/200, 192.0/200, 8.0/200, 8.0/200, color.NRGBA{255, 255, 255, 255}, 1)
	res = run(Mark{Path: "/logo.png", Gravity: "northwest", Opacity: 100, Scale: 50})
	wantColour(t, res.Body, 0, 0, 0.48, 0.48, color.NRGBA{0, 0, 0, 255}, 2)
	wantColour(t, res.Body, 0.52, 0.52, 0.4, 0.4, color.NRGBA{255, 255, 255, 255}, 1)
	if len(asked) != 2 || asked[0] != "/logo.png" {
		t.Fatalf("fetched %v", asked)
	}
	// a JPEG base (no alpha) stays without alpha
	jres, err := Process(context.Background(), encodeJPEG(t, flat(100, 100, color.NRGBA{255, 255, 255, 255})),
		Spec{Watermark: &Mark{Path: "/logo.png", Gravity: "center", Opacity: 100}}, Limits{}, fetch)
	if err != nil {
		t.Fatal(err)
	}
	wantColour(t, jres.Body, 0.45, 0.45, 0.1, 0.1, color.NRGBA{0, 0, 0, 255}, 8)
	// refused without fetch, failing fetch is unprocessable
	m := &Mark{Path: "/logo.png", Gravity: "center", Opacity: 100}
	_, err = Process(context.Background(), base, Spec{Watermark: m}, Limits{}, nil)
	var pe *ParamError
	if !errors.As(err, &pe) {
		t.Fatalf("nil fetch: %v, want *ParamError", err)
	}
	m.Path = "/missing.png"
	if _, err = Process(context.Background(), base, Spec{Watermark: m}, Limits{}, fetch); !errors.Is(err, ErrUnprocessable) {
		t.Fatalf("missing mark: %v, want ErrUnprocessable", err)
	}
}

func TestFormatsAndMetadata(t *testing.T) {
	p3, err := os.ReadFile("testdata/p3.jpg")
	if err != nil {
		t.Fatal(err)
	}
	src := withOrientation(p3, 1)
	if h, err := vips.Probe(src); err != nil || !h.HasICC || !h.HasEXIF {
		t.Fatalf("source should carry EXIF and ICC: %+v %v", h, err)
	}
	for _, f := range []string{"jpeg", "png", "webp", "avif", "gif"} {
		t.Run(f, func(t *testing.T) {
			res := process(t, src, Spec{Format: f, Width: 32})
			h := outHeader(t, res)
			if res.ContentType != "image/"+f {
				t.Fatalf("content type %q", res.ContentType)
			}
			if h.HasEXIF || h.HasICC {
				t.Fatalf("metadata left: exif %v icc %v", h.HasEXIF, h.HasICC)
			}
			// the P3 pixels were converted through the profile to sRGB (200,40,40)
			wantColour(t, res.Body, 0.2, 0.2, 0.6, 0.6, color.NRGBA{200, 40, 40, 255}, 10)
		})
	}
	// the same source read without its profile would be ~(184,55,49): the
	// conversion above is not a coincidence.
	raw, err := vips.Load(p3, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if m, err := raw.Mean(0, 0, 64, 48); err != nil || near(m, color.NRGBA{200, 40, 40, 255}, 6) {
		t.Fatalf("raw P3 numbers %v (%v) already look sRGB; the test proves nothing", m, err)
	}
}

func TestDefaultOutputFormat(t *testing.T) {
	tests := []struct{ asked, source, want string }{
		{"", "png", "png"}, {"", "gif", "gif"}, {"", "webp", "webp"}, {"", "avif", "avif"},
		{"", "heic", "jpeg"}, {"auto", "jpeg", "jpeg"}, {"webp", "jpeg", "webp"},
	}
	for _, tt := range tests {
		if got := outputFormat(tt.asked, tt.source); got != tt.want {
			t.Errorf("outputFormat(%q, %q) = %q, want %q", tt.asked, tt.source, got, tt.want)
		}
	}
	// a PNG source stays PNG, a WebP source WebP, end to end
	png := encodePNG(t, quadrants(64, 32))
	if res := process(t, png, Spec{Width: 32}); res.Format != "png" {
		t.Fatalf("png source -> %s", res.Format)
	}
	for _, f := range []string{"webp", "avif", "gif", "jpeg"} {
		converted := process(t, png, Spec{Format: f})
		if res := process(t, converted.Body, Spec{Width: 32}); res.Format != f || outHeader(t, res).Width != 32 {
			t.Fatalf("%s source -> %s", f, res.Format)
		}
	}
}

// TestHEICSource: a phone's HEIC photo (testdata/red.heic, made by gen.sh) is read and, with no
// format asked, answered as JPEG with its colour.
func TestHEICSource(t *testing.T) {
	src, err := os.ReadFile("testdata/red.heic")
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Probe(src); err != nil || h.Format != "heic" || h.Width != 64 || h.Height != 48 {
		t.Fatalf("Probe = %+v, %v", h, err)
	}
	res := process(t, src, Spec{Width: 32})
	if res.Format != "jpeg" || res.ContentType != "image/jpeg" {
		t.Fatalf("heic source -> %s (%s)", res.Format, res.ContentType)
	}
	if h := outHeader(t, res); h.Width != 32 || h.Height != 24 {
		t.Fatalf("output %dx%d, want 32x24", h.Width, h.Height)
	}
	wantColour(t, res.Body, 0.25, 0.25, 0.5, 0.5, color.NRGBA{200, 40, 40, 255}, 12)
}

// TestProgressiveJPEG: a JPEG output over progressiveMinPixels is progressive (SOF2), a
// thumbnail baseline (SOF0).
func TestProgressiveJPEG(t *testing.T) {
	sof := func(body []byte) string {
		for i := 2; i+3 < len(body); {
			if body[i] != 0xff {
				return "no marker"
			}
			switch m := body[i+1]; m {
			case 0xc0, 0xc1:
				return "baseline"
			case 0xc2:
				return "progressive"
			default:
				i += 2 + (int(body[i+2])<<8 | int(body[i+3]))
			}
		}
		return "no frame"
	}
	src := photoJPEG(t, 800, 600)
	for _, tt := range []struct {
		width int
		want  string
	}{{365, "progressive"}, {364, "baseline"}, {200, "baseline"}, {800, "progressive"}} {
		res := process(t, src, Spec{Width: tt.width, Format: "jpeg"})
		if got := sof(res.Body); got != tt.want {
			t.Errorf("%d px wide (%dx%d): %s, want %s", tt.width, res.Width, res.Height, got, tt.want)
		}
	}
}

func TestQuality(t *testing.T) {
	photo := photoJPEG(t, 400, 300)
	q80 := process(t, photo, Spec{Width: 300, Format: "jpeg"})
	cmp := process(t, photo, Spec{Width: 300, Format: "jpeg", Compress: true})
	q95 := process(t, photo, Spec{Width: 300, Format: "jpeg", Quality: 95})
	if !(len(cmp.Body) < len(q80.Body) && len(q80.Body) < len(q95.Body)) {
		t.Fatalf("sizes: compress %d, default %d, q95 %d", len(cmp.Body), len(q80.Body), len(q95.Body))
	}
}

func TestAnimatedGIF(t *testing.T) {
	src := animatedGIF(t, 60, 40)
	if h, err := Probe(src); err != nil || h.Pages != 3 {
		t.Fatalf("probe: %+v %v", h, err)
	}
	for _, f := range []string{"gif", "webp"} {
		res := process(t, src, Spec{Format: f, Width: 30})
		h := outHeader(t, res)
		if h.Pages != 3 || h.Width != 30 || h.Height != 20 {
			t.Fatalf("%s: %d pages of %dx%d, want 3 of 30x20", f, h.Pages, h.Width, h.Height)
		}
		// the frames are kept in order: load them all and check the last
		im, err := vips.Load(res.Body, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		m, err := im.Mean(5, 2*20+5, 20, 10)
		im.Close()
		if err != nil || !near(m, blue, 40) {
			t.Fatalf("%s: third frame mean %v (%v), want blue", f, m, err)
		}
	}
	// GIF source, no format asked: stays an animated GIF, fill per frame
	res := process(t, src, Spec{Width: 20, Height: 20, Mode: "fill", FlipH: true})
	if h := outHeader(t, res); h.Pages != 3 || h.Width != 20 || h.Height != 20 {
		t.Fatalf("gif fill: %+v", h)
	}
	res = process(t, src, Spec{Format: "jpeg", Width: 30})
	if h := outHeader(t, res); h.Pages != 1 || h.Height != 20 {
		t.Fatalf("jpeg from animation: %+v", h)
	}
	wantColour(t, res.Body, 0.2, 0.2, 0.6, 0.6, red, 40)
}

func TestInfo(t *testing.T) {
	src := encodePNG(t, quadrants(123, 45))
	res := process(t, src, Spec{Info: true, Width: 10})
	if res.ContentType != "application/json" {
		t.Fatalf("content type %q", res.ContentType)
	}
	var got struct {
		Width, Height, Size int
		Format              string
	}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Width != 123 || got.Height != 45 || got.Format != "png" || got.Size != len(src) {
		t.Fatalf("info %+v (%s)", got, res.Body)
	}
}

// TestLargeSource runs out-of-order steps (rotation, vertical flip, smart
// crop, south gravity) over a 2000x1500 photo: the sequential loader must
// not fail with "out of order read".
func TestLargeSource(t *testing.T) {
	src := photoJPEG(t, 2000, 1500)
	tests := []struct {
		spec Spec
		w, h int
	}{
		{Spec{Rotate: 90, Width: 600}, 450, 600},
		{Spec{FlipV: true, Format: "webp"}, 2000, 1500},
		{Spec{Width: 300, Height: 300, Mode: "fill", Gravity: "smart"}, 300, 300},
		{Spec{Width: 300, Height: 100, Mode: "fill", Gravity: "south", Rotate: 270}, 100, 300},
		{Spec{Crop: &Rect{W: 1000, H: 1000, Anchor: "southeast"}, Width: 200, Rotate: 180, FlipV: true}, 200, 200},
	}
	for _, tt := range tests {
		res := process(t, src, tt.spec)
		if res.Width != tt.w || res.Height != tt.h {
			t.Errorf("%s: %dx%d, want %dx%d", tt.spec.Canonical(), res.Width, res.Height, tt.w, tt.h)
		}
	}
}
