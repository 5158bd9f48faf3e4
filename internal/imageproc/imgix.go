package imageproc

import (
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// imgixParams lists the query keys ParseImgix reads. Other keys (signing
// parameters, cache busters) are not image parameters and are left alone.
var imgixParams = map[string]func(*Spec, string, string) error{
	"w":   imgixDim(func(s *Spec, n int) { s.Width = n }),
	"h":   imgixDim(func(s *Spec, n int) { s.Height = n }),
	"fit": imgixFit, "crop": imgixCrop, "fm": imgixFormat, "q": imgixQuality,
	"auto": imgixAuto, "dpr": imgixDPR, "blur": imgixBlur, "sharp": imgixSharp,
	"rot": imgixRot, "flip": imgixFlip, "bg": imgixBg, "bri": imgixBri, "con": imgixCon,
	"rect": imgixRect,
	"mark": imgixMark, "mark-align": imgixMarkAlign, "mark-alpha": imgixMarkAlpha,
	"mark-pad": imgixMarkPad, "mark-w": imgixMarkW,
}

// ParseImgix parses imgix-style query parameters (w h fit crop fm q
// auto=format,compress dpr blur sharp rot flip bg, plus bri con rect, and the
// watermark subset mark mark-align mark-alpha mark-pad mark-w). The bool
// reports whether any image parameter was present, even one that restates a
// default. A key given twice with different values is an error, since the
// cache key could not say which one was meant.
func ParseImgix(q url.Values) (Spec, bool, error) {
	var s Spec
	var fm string
	present := false
	for _, k := range sortedKeys(q) {
		set, ok := imgixParams[k]
		if !ok {
			continue
		}
		present = true
		vs := q[k]
		for _, v := range vs[1:] {
			if v != vs[0] {
				return Spec{}, true, paramErr(k, v, "given more than once with different values")
			}
		}
		if k == "fm" {
			fm = vs[0]
		}
		if err := set(&s, k, vs[0]); err != nil {
			return Spec{}, true, err
		}
	}
	if s.Watermark != nil && s.Watermark.Path == "" {
		return Spec{}, true, paramErr("mark", "", "required by the other mark- parameters")
	}
	if fm != "" && s.Format == "auto" {
		// imgix: an explicit fm overrides auto=format.
		s.Format = imgixFormatName(fm)
	}
	return s, present, nil
}

func sortedKeys(q url.Values) []string {
	// A fixed order makes errors deterministic when several keys are bad.
	return slices.Sorted(maps.Keys(q))
}

func imgixDim(set func(*Spec, int)) func(*Spec, string, string) error {
	return func(s *Spec, k, v string) error {
		n, err := parseIntRange(k, v, 1, MaxDimension)
		if err == nil {
			set(s, n)
		}
		return err
	}
}

// imgixFit maps imgix fit modes onto ours; upscaling stays off in all of them.
func imgixFit(s *Spec, k, v string) error {
	switch v {
	case "clip", "max":
		s.Mode = "fit"
	case "crop", "min":
		s.Mode = "fill"
	case "fill", "fillmax":
		s.Mode = "pad"
	case "scale":
		s.Mode = "exact"
	default:
		return paramErr(k, v, "want clip, max, crop, min, fill, fillmax or scale")
	}
	return nil
}

// imgixCrop maps crop=top,left (any order) or entropy/edges to a gravity.
func imgixCrop(s *Spec, k, v string) error {
	for _, p := range strings.Split(v, ",") {
		if p == "entropy" || p == "edges" || p == "faces" {
			s.Gravity = "smart"
			return nil
		}
	}
	g, ok := imgixGravity(v, "center")
	if !ok {
		return paramErr(k, v, "want top, bottom, left, right, center, entropy, edges or faces")
	}
	s.Gravity = g
	return nil
}

// imgixGravity maps imgix's comma-separated sides (top, bottom, left, right, in any order, and
// the centre words given) to a gravity name: "northwest", "south", "center"...
func imgixGravity(v string, centre ...string) (string, bool) {
	var vert, horiz string
	for _, p := range strings.Split(v, ",") {
		switch p {
		case "top":
			vert = "north"
		case "bottom":
			vert = "south"
		case "left":
			horiz = "west"
		case "right":
			horiz = "east"
		default:
			if !slices.Contains(centre, p) {
				return "", false
			}
		}
	}
	if vert+horiz == "" {
		return "center", true
	}
	return vert + horiz, true
}

func imgixFormatName(v string) string {
	if v == "json" {
		return ""
	}
	return normFormat(v)
}

func imgixFormat(s *Spec, k, v string) error {
	if v == "json" {
		s.Info = true
		return nil
	}
	f := normFormat(v)
	if f == "" {
		return paramErr(k, v, "want jpg, pjpg, png, webp, avif, gif or json")
	}
	if s.Format != "auto" {
		s.Format = f
	}
	return nil
}

func imgixQuality(s *Spec, k, v string) error {
	n, err := parseIntRange(k, v, 1, 100)
	s.Quality = n
	return err
}

func imgixAuto(s *Spec, k, v string) error {
	for _, p := range strings.Split(v, ",") {
		switch p {
		case "format":
			s.Format = "auto"
		case "compress":
			s.Compress = true
		case "enhance", "redeye":
			return paramErr(k, v, p+" is not supported")
		default:
			return paramErr(k, v, "want format and/or compress")
		}
	}
	return nil
}

// imgixDPR clamps into [1, MaxDPR] rather than refusing: loaders send the
// device's ratio as is, and a 5x phone should still get an image.
func imgixDPR(s *Spec, k, v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return paramErr(k, v, "want a positive number")
	}
	s.DPR = min(max(f, 1), MaxDPR)
	return nil
}

// imgixBlur takes imgix's 0..2000 scale; sigma = blur/8 keeps it in 0..MaxBlurSigma.
func imgixBlur(s *Spec, k, v string) error {
	f, err := parseFloatRange(k, v, 0, 2000)
	s.Blur = f / 8
	return err
}

// imgixSharp takes imgix's 0..100 scale; sigma = sharp/10.
func imgixSharp(s *Spec, k, v string) error {
	f, err := parseFloatRange(k, v, 0, 100)
	s.Sharpen = f / 10
	return err
}

func imgixRot(s *Spec, k, v string) error {
	n, err := parseRotate(k, v)
	s.Rotate = n
	return err
}

func imgixFlip(s *Spec, k, v string) error {
	switch v {
	case "h":
		s.FlipH = true
	case "v":
		s.FlipV = true
	case "hv", "vh":
		s.FlipH, s.FlipV = true, true
	default:
		return paramErr(k, v, "want h, v or hv")
	}
	return nil
}

func imgixBg(s *Spec, k, v string) error {
	c, err := parseHexColor(k, v)
	s.Background = c
	return err
}

func imgixBri(s *Spec, k, v string) error {
	n, err := parseIntRange(k, v, -MaxBrightness, MaxBrightness)
	s.Brightness = n
	return err
}

func imgixCon(s *Spec, k, v string) error {
	n, err := parseIntRange(k, v, -MaxBrightness, MaxBrightness)
	s.Contrast = n
	return err
}

// imgixRect parses rect=x,y,w,h in source pixels.
func imgixRect(s *Spec, k, v string) error {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return paramErr(k, v, "want x,y,w,h")
	}
	var n [4]int
	for i, p := range parts {
		lo := 0
		if i >= 2 {
			lo = 1
		}
		x, err := parseIntRange(k, p, lo, 1<<16)
		if err != nil {
			return paramErr(k, v, "want x,y,w,h with w,h >= 1")
		}
		n[i] = x
	}
	s.Crop = &Rect{X: n[0], Y: n[1], W: n[2], H: n[3]}
	return nil
}

// imgixMarkOf returns the spec's watermark, made with imgix's defaults
// (bottom right, opaque, 5 px from the edges, natural size) if absent.
func imgixMarkOf(s *Spec) *Mark {
	if s.Watermark == nil {
		s.Watermark = &Mark{Gravity: "southeast", X: 5, Y: 5, Opacity: 100}
	}
	return s.Watermark
}

// imgixMark takes the watermark's path on the same domain (mark=/logo.png);
// imgix's absolute URLs are refused, since fetching them would let any URL
// make the edge a proxy.
func imgixMark(s *Spec, k, v string) error {
	if err := checkMarkPath(k, v); err != nil {
		return err
	}
	imgixMarkOf(s).Path = v
	return nil
}

// imgixMarkAlign takes top|middle|bottom and left|center|right, in any order.
func imgixMarkAlign(s *Spec, k, v string) error {
	g, ok := imgixGravity(v, "middle", "center")
	if !ok {
		return paramErr(k, v, "want top, middle, bottom, left, center or right")
	}
	imgixMarkOf(s).Gravity = g
	return nil
}

func imgixMarkAlpha(s *Spec, k, v string) error {
	n, err := parseIntRange(k, v, 1, 100)
	imgixMarkOf(s).Opacity = n
	return err
}

func imgixMarkPad(s *Spec, k, v string) error {
	n, err := parseIntRange(k, v, 0, MaxMarkMargin)
	m := imgixMarkOf(s)
	m.X, m.Y = n, n
	return err
}

// imgixMarkW takes the watermark width as a fraction of the image's width
// (0.01..1); imgix's pixel widths are refused because our Mark scales
// relative to the output.
func imgixMarkW(s *Spec, k, v string) error {
	f, err := parseFloatRange(k, v, 0.01, 1)
	if err != nil {
		return paramErr(k, v, "want a fraction of the image width, 0.01..1")
	}
	imgixMarkOf(s).Scale = int(math.Round(f * 100))
	return nil
}
