package imageproc

import (
	"net/url"
	"strconv"
	"strings"
)

// Limits enforced by every dialect parser. They bound the work one URL can ask
// of the pipeline; the per-domain source limits live with the pipeline.
const (
	MaxDimension  = 8192 // width, height, long and short side
	MaxPercent    = 1000 // resize by percentage
	MaxDPR        = 4.0  // device pixel ratio is clamped into [1, MaxDPR]
	MaxBlurSigma  = 250.0
	MaxSharpen    = 10.0
	MaxBrightness = 100 // brightness and contrast are in [-100, 100]
)

// Rect is a crop rectangle in source pixels. W or H of 0 means "to the edge".
// X and Y are offsets from the Anchor gravity ("" means northwest, the origin).
type Rect struct {
	X, Y, W, H int
	Anchor     string
}

// Spec is the canonical transform request. Zero values mean "not asked", so
// the pipeline's defaults apply (auto-orientation on, quality per format,
// never upscale). Dialect parsers normalise spellings (jpg -> jpeg, imgix
// fit=crop -> fill) so that Canonical is the same for equivalent requests.
type Spec struct {
	Width, Height int     // target box in CSS pixels (before DPR)
	Long, Short   int     // resize by long or short side (OSS l_, s_)
	Percent       int     // resize by percentage of the source (OSS p_)
	Mode          string  // ""/fit | fill | pad | exact | min (cover the box, no crop: OSS mfit)
	Upscale       bool    // allow enlarging beyond the source size
	DPR           float64 // device pixel ratio; 0 and 1 both mean 1
	Crop          *Rect   // crop applied before resizing
	Gravity       string  // anchor for fill: center|north|south|east|west|northeast|northwest|southeast|southwest|smart
	Rotate        int     // clockwise degrees: 0, 90, 180, 270
	NoAutoOrient  bool    // EXIF auto-orientation is on by default; true turns it off
	FlipH, FlipV  bool
	Blur          float64 // gaussian sigma, 0..MaxBlurSigma
	Sharpen       float64 // sharpen sigma, 0..MaxSharpen
	Brightness    int     // -100..100
	Contrast      int     // -100..100
	Background    string  // "rrggbb" lowercase hex, for pad and transparent sources
	Format        string  // "" = source | jpeg | png | webp | avif | gif | auto
	Quality       int     // 1..100, 0 = the format's default
	Compress      bool    // imgix auto=compress: prefer a smaller default quality
	Info          bool    // answer width, height, format and size as JSON
	Watermark     *Mark   // an image drawn over the result
}

// Mark is an image watermark. Path names an object on the same domain as
// the image (it starts with "/" and has no scheme or host), so a URL can
// never make the edge fetch from elsewhere. Parsers fill every field, with
// their dialect's defaults, so that Canonical needs no defaulting.
type Mark struct {
	Path    string // same-domain object path, e.g. "/logo.png"
	Gravity string // corner or side it is anchored to: center|north|...|southeast
	X, Y    int    // margins from the anchored edges, in output pixels
	Opacity int    // 1..100
	Scale   int    // width in percent of the base image's width; 0 = natural size
}

// MaxMarkMargin bounds Mark.X and Mark.Y.
const MaxMarkMargin = 4096

// IsZero reports whether the spec asks for no transform at all, in which case
// the edge serves the source untouched.
func (s Spec) IsZero() bool { return s.Canonical() == "" }

// Canonical returns a short deterministic form of the spec for the cache key.
// Fields at their defaults are left out, so a spec that only restates the
// defaults (dpr=1, fit=clip, gravity center) keys the same as one that is silent.
func (s Spec) Canonical() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		if v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
	addInt := func(k string, v int) {
		if v != 0 {
			add(k, strconv.Itoa(v))
		}
	}
	addFloat := func(k string, v float64) {
		if v != 0 {
			add(k, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	s.writeGeometry(add, addInt, addFloat)
	s.writeEffects(add, addInt, addFloat)
	return b.String()
}

func (s Spec) writeGeometry(add func(k, v string), addInt func(string, int), addFloat func(string, float64)) {
	if c := s.Crop; c != nil {
		a := c.Anchor
		if a == "" {
			a = "northwest"
		}
		add("c", strconv.Itoa(c.X)+"_"+strconv.Itoa(c.Y)+"_"+strconv.Itoa(c.W)+"_"+strconv.Itoa(c.H)+"_"+a)
	}
	addInt("w", s.Width)
	addInt("h", s.Height)
	addInt("l", s.Long)
	addInt("s", s.Short)
	addInt("p", s.Percent)
	resizing := s.Width != 0 || s.Height != 0 || s.Long != 0 || s.Short != 0 || s.Percent != 0
	if resizing && s.Mode != "" && s.Mode != "fit" {
		add("m", s.Mode)
	}
	if resizing && s.Mode == "fill" && s.Gravity != "" && s.Gravity != "center" {
		add("g", s.Gravity)
	}
	if resizing && s.Upscale {
		add("up", "")
	}
	if resizing && s.DPR > 1 {
		addFloat("dpr", s.DPR)
	}
	addInt("r", s.Rotate)
	if s.NoAutoOrient {
		add("noao", "")
	}
	if s.FlipH {
		add("fh", "")
	}
	if s.FlipV {
		add("fv", "")
	}
}

func (s Spec) writeEffects(add func(k, v string), addInt func(string, int), addFloat func(string, float64)) {
	addFloat("blur", s.Blur)
	addFloat("sh", s.Sharpen)
	addInt("br", s.Brightness)
	addInt("co", s.Contrast)
	if s.Background != "" {
		add("bg", s.Background)
	}
	if s.Format != "" {
		add("f", s.Format)
	}
	addInt("q", s.Quality)
	if s.Compress {
		add("cmp", "")
	}
	if s.Info {
		add("info", "")
	}
	if m := s.Watermark; m != nil {
		// The path goes last and escaped: a ',' or '_' in it cannot be
		// mistaken for a separator of the key.
		add("wm", m.Gravity+"_"+strconv.Itoa(m.X)+"_"+strconv.Itoa(m.Y)+"_"+strconv.Itoa(m.Opacity)+"_"+
			strconv.Itoa(m.Scale)+"_"+strings.ReplaceAll(url.PathEscape(m.Path), ",", "%2C"))
	}
}

// checkMarkPath accepts a watermark path only if it can only name an
// object on the same domain: it starts with one "/", and has no "..",
// backslash, '%' (which a later decoding could turn into either), '?',
// '#', ':' or control character.
func checkMarkPath(param, p string) error {
	switch {
	case p == "" || p[0] != '/':
		return paramErr(param, p, `watermark path must start with "/"`)
	case strings.HasPrefix(p, "//"):
		return paramErr(param, p, "watermark must be on the same domain")
	case len(p) > 1024:
		return paramErr(param, p, "watermark path too long")
	case strings.ContainsAny(p, "\\%?#:"):
		return paramErr(param, p, `watermark path must not contain \, %, ?, # or :`)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." {
			return paramErr(param, p, "watermark path must not contain . or .. segments")
		}
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return paramErr(param, p, "watermark path has a control character")
		}
	}
	return nil
}

// validGravity is the set of Spec.Gravity and Rect.Anchor values.
var validGravity = map[string]bool{
	"center": true, "north": true, "south": true, "east": true, "west": true,
	"northeast": true, "northwest": true, "southeast": true, "southwest": true, "smart": true,
}

// normFormat maps a format spelling to the canonical name, or "" if unknown.
func normFormat(f string) string {
	switch strings.ToLower(f) {
	case "jpg", "jpeg", "pjpg":
		return "jpeg"
	case "png", "webp", "avif", "gif":
		return strings.ToLower(f)
	}
	return ""
}

// parseIntRange parses a decimal integer within [lo, hi].
func parseIntRange(param, v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, paramErr(param, v, "not an integer")
	}
	if n < lo || n > hi {
		return 0, paramErr(param, v, "out of range "+strconv.Itoa(lo)+".."+strconv.Itoa(hi))
	}
	return n, nil
}

// parseFloatRange parses a finite decimal number within [lo, hi].
func parseFloatRange(param, v string, lo, hi float64) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f { // f != f rejects NaN
		return 0, paramErr(param, v, "not a number")
	}
	if f < lo || f > hi {
		return 0, paramErr(param, v, "out of range "+strconv.FormatFloat(lo, 'f', -1, 64)+".."+strconv.FormatFloat(hi, 'f', -1, 64))
	}
	return f, nil
}

// parseRotate accepts right angles only: the pipeline rotates losslessly.
func parseRotate(param, v string) (int, error) {
	n, err := parseIntRange(param, v, 0, 360)
	if err != nil {
		return 0, err
	}
	if n%90 != 0 {
		return 0, paramErr(param, v, "only multiples of 90 are supported")
	}
	return n % 360, nil
}

// parseHexColor accepts rgb or rrggbb (with an optional '#') and returns rrggbb lowercase.
func parseHexColor(param, v string) (string, error) {
	h := strings.ToLower(strings.TrimPrefix(v, "#"))
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", paramErr(param, v, "not a hex colour")
		}
	}
	switch len(h) {
	case 3:
		return string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]}), nil
	case 6:
		return h, nil
	}
	return "", paramErr(param, v, "want rgb or rrggbb hex")
}
