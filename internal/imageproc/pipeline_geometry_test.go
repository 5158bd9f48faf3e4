package imageproc

import "testing"

func TestPlanGeometry(t *testing.T) {
	var lim Limits
	lim.SetDefaults()
	tests := []struct {
		name string
		w, h int
		spec Spec
		want geometry
	}{
		{"fit", 400, 200, Spec{Width: 100, Height: 100}, geometry{resizeW: 100, resizeH: 50}},
		{"fill", 400, 200, Spec{Width: 100, Height: 100, Mode: "fill", Gravity: "north"}, geometry{resizeW: 200, resizeH: 100, cropW: 100, cropH: 100, gravity: "north"}},
		{"pad", 400, 200, Spec{Width: 100, Height: 100, Mode: "pad"}, geometry{resizeW: 100, resizeH: 50, padW: 100, padH: 100}},
		{"pad no upscale keeps the box", 40, 20, Spec{Width: 100, Height: 100, Mode: "pad"}, geometry{resizeW: 40, resizeH: 20, padW: 100, padH: 100}},
		{"exact", 400, 200, Spec{Width: 100, Height: 100, Mode: "exact"}, geometry{resizeW: 100, resizeH: 100}},
		{"exact upscale", 40, 20, Spec{Width: 100, Height: 100, Mode: "exact", Upscale: true}, geometry{resizeW: 100, resizeH: 100}},
		{"min", 400, 200, Spec{Width: 100, Height: 100, Mode: "min"}, geometry{resizeW: 200, resizeH: 100}},
		{"fill one side is fit", 400, 200, Spec{Width: 100, Mode: "fill"}, geometry{resizeW: 100, resizeH: 50}},
		{"long on portrait", 200, 400, Spec{Long: 100}, geometry{resizeW: 50, resizeH: 100}},
		{"short on portrait", 200, 400, Spec{Short: 100}, geometry{resizeW: 100, resizeH: 200}},
		{"percent with dpr", 400, 200, Spec{Percent: 10, DPR: 2}, geometry{resizeW: 80, resizeH: 40}},
		{"percent no upscale", 400, 200, Spec{Percent: 200}, geometry{resizeW: 400, resizeH: 200}},
		{"percent upscale", 400, 200, Spec{Percent: 200, Upscale: true}, geometry{resizeW: 800, resizeH: 400}},
		{"rounding", 333, 777, Spec{Width: 100}, geometry{resizeW: 100, resizeH: 233}},
		{"tiny result is one pixel", 10000, 10, Spec{Width: 100}, geometry{resizeW: 100, resizeH: 1}},
		{"nothing asked", 400, 200, Spec{}, geometry{resizeW: 400, resizeH: 200}},
		{"max output", 20000, 100, Spec{}, geometry{resizeW: 8192, resizeH: 41}},
	}
	for _, tt := range tests {
		if got := planGeometry(tt.w, tt.h, tt.spec, lim); got != tt.want {
			t.Errorf("%s: planGeometry(%d, %d, %s) = %+v, want %+v", tt.name, tt.w, tt.h, tt.spec.Canonical(), got, tt.want)
		}
	}
}

func TestResolveRect(t *testing.T) {
	tests := []struct {
		r            Rect
		x, y, cw, ch int
		ok           bool
	}{
		{Rect{X: 10, Y: 20, W: 30, H: 40}, 10, 20, 30, 40, true},
		{Rect{W: 30, H: 40, Anchor: "southeast"}, 70, 60, 30, 40, true},
		{Rect{X: 5, Y: 5, W: 30, H: 40, Anchor: "southeast"}, 65, 55, 30, 40, true},
		{Rect{W: 20, H: 20, Anchor: "center"}, 40, 40, 20, 20, true},
		{Rect{X: 90, Y: 90}, 90, 90, 10, 10, true},
		{Rect{X: 90, W: 50, H: 10}, 90, 0, 10, 10, true},
		{Rect{X: 100, W: 10, H: 10}, 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		x, y, cw, ch, ok := resolveRect(tt.r, 100, 100)
		if x != tt.x || y != tt.y || cw != tt.cw || ch != tt.ch || ok != tt.ok {
			t.Errorf("resolveRect(%+v) = %d,%d %dx%d %v; want %d,%d %dx%d %v", tt.r, x, y, cw, ch, ok, tt.x, tt.y, tt.cw, tt.ch, tt.ok)
		}
	}
}

func TestMarkPosition(t *testing.T) {
	tests := []struct {
		m    Mark
		x, y int
	}{
		{Mark{Gravity: "southeast", X: 10, Y: 10}, 170, 170},
		{Mark{Gravity: "northwest", X: 10, Y: 5}, 10, 5},
		{Mark{Gravity: "center", X: 10, Y: 10}, 90, 90},
		{Mark{Gravity: "north", X: 10, Y: 10}, 90, 10},
		{Mark{Gravity: "east", X: 10, Y: 10}, 170, 90},
		{Mark{Gravity: "southeast", X: 500, Y: 500}, 0, 0},
	}
	for _, tt := range tests {
		if x, y := markPosition(&tt.m, 200, 200, 20, 20); x != tt.x || y != tt.y {
			t.Errorf("markPosition(%+v) = %d,%d; want %d,%d", tt.m, x, y, tt.x, tt.y)
		}
	}
}

// TestPlanLoad: how a source is opened for a target: the shrink-on-load factor (the largest
// power of two that leaves at least the output, as imgproxy picks it), sequential decoding
// where nothing reads the source out of order, vips_thumbnail for HEIF-family sources only.
func TestPlanLoad(t *testing.T) {
	var lim Limits
	lim.SetDefaults()
	photo := Header{Format: "jpeg", Width: 2000, Height: 1500, Pages: 1, Orientation: 1}
	with := func(h Header, f func(*Header)) Header { f(&h); return h }
	tests := []struct {
		name     string
		head     Header
		spec     Spec
		animated bool
		want     loadPlan
	}{
		{"jpeg 2000 to 300: decoded at 500", photo, Spec{Width: 300},
			false, loadPlan{shrink: 4, sequential: true}},
		{"jpeg 2000 to 250: 1/8 would leave 187 of the 188 rows", photo, Spec{Width: 250},
			false, loadPlan{shrink: 4, sequential: true}},
		{"jpeg 2000 to 200: 1/8", photo, Spec{Width: 200},
			false, loadPlan{shrink: 8, sequential: true}},
		{"jpeg 2000 to 1001: no shrink", photo, Spec{Width: 1001},
			false, loadPlan{shrink: 1, sequential: true}},
		{"jpeg 2000 to 1000: 1/2", photo, Spec{Width: 1000},
			false, loadPlan{shrink: 2, sequential: true}},
		{"fill: the covering side decides", photo, Spec{Width: 300, Height: 300, Mode: "fill"},
			false, loadPlan{shrink: 4, sequential: true}},
		{"webp scales on load too", with(photo, func(h *Header) { h.Format = "webp" }), Spec{Width: 300},
			false, loadPlan{shrink: 4, sequential: true}},
		{"png: full size, sequential", with(photo, func(h *Header) { h.Format = "png" }), Spec{Width: 300},
			false, loadPlan{shrink: 1, sequential: true}},
		{"avif: vips_thumbnail", with(photo, func(h *Header) { h.Format = "avif" }), Spec{Width: 300},
			false, loadPlan{shrink: 1, thumbnail: true}},
		{"heic: vips_thumbnail", with(photo, func(h *Header) { h.Format = "heic" }), Spec{Width: 300},
			false, loadPlan{shrink: 1, thumbnail: true}},
		{"exif rotation reads out of order", with(photo, func(h *Header) { h.Orientation = 6 }), Spec{Width: 300},
			false, loadPlan{shrink: 4}},
		{"exif rotation turned off", with(photo, func(h *Header) { h.Orientation = 6 }), Spec{Width: 300, NoAutoOrient: true},
			false, loadPlan{shrink: 4, sequential: true}},
		{"crop: shrink by the rectangle, random access", photo, Spec{Width: 100, Crop: &Rect{W: 1000, H: 500}},
			false, loadPlan{shrink: 8}},
		{"animation: whole, random access", with(photo, func(h *Header) { h.Format = "gif"; h.Pages = 3 }), Spec{Width: 300, Format: "gif"},
			true, loadPlan{shrink: 1}},
	}
	for _, tt := range tests {
		got, err := planLoad(tt.head, tt.spec, lim, tt.animated)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got.geom = geometry{}
		if got != tt.want {
			t.Errorf("%s: planLoad = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
