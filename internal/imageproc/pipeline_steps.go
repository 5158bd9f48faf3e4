package imageproc

import (
	"strconv"

	"github.com/pixcdn/pixcdn/internal/imageproc/vips"
)

// orientedSize is the source frame's size as it will be seen: EXIF
// orientations 5..8 swap the sides, unless auto-orientation is off.
func orientedSize(h Header, s Spec, animated bool) (int, int) {
	if !s.NoAutoOrient && !animated && h.Orientation >= 5 {
		return h.Height, h.Width
	}
	return h.Width, h.Height
}

func (j *job) orientedSize() (int, int) { return orientedSize(j.head, j.spec, j.animated) }

// loadPlan is how load decodes a source: the resize plan, the shrink-on-load factor, and
// which of libvips' ways of opening it.
type loadPlan struct {
	geom   geometry
	shrink int // 1, 2, 4 or 8
	// thumbnail: vips_thumbnail loads and resizes in one operation (HEIF and AVIF sources,
	// whose loader can pick an embedded thumbnail large enough).
	thumbnail bool
	// sequential: the source is decoded strip by strip as the pipeline is computed, never
	// whole into a buffer of its own (see vips.LoadSequential). Not for animations, split
	// into frames, nor for a source whose EXIF orientation is applied, which reads it out of
	// order, nor under a crop rectangle, which would read only the rows it keeps and so
	// serve a truncated source instead of refusing it.
	sequential bool
}

// planLoad plans the load of a source. JPEG and WebP loaders shrink on load by the largest
// power of two that still leaves the image (or the crop rectangle) at least as
// large as the planned output, so a 2000x1500 JPEG bound for 300 px is decoded
// at 500x375; the resize step takes it the rest of the way. (vips_thumbnail
// keeps a further factor of two and would decode 1000x750 here, four times the
// pixels. The loaders' DCT scaling is itself a proper downsample: against a
// full decode resized with lanczos3, a 300 px result measured 50.4 dB PSNR this
// way and 52.8 dB through vips_thumbnail on a smooth photo, 42.1 and 44.8 dB on
// a noisy one, both far above what q80 encoding keeps, for 20-30 % less CPU.
// imgproxy picks the same factor.) Other stills are loaded at full size, sequentially, and
// resized by the resize step; HEIF and AVIF sources go through vips_thumbnail. Animations kept as such are loaded whole and split into frames.
func planLoad(head Header, s Spec, lim Limits, animated bool) (loadPlan, error) {
	w, h := orientedSize(head, s, animated)
	p := loadPlan{shrink: 1, sequential: !animated && s.Crop == nil && (s.NoAutoOrient || head.Orientation <= 1)}
	cw, ch := w, h
	if s.Crop != nil {
		var ok bool
		if _, _, cw, ch, ok = resolveRect(*s.Crop, w, h); !ok {
			return p, unprocessable("crop", "rectangle %+v lies outside the %dx%d image", *s.Crop, w, h)
		}
	}
	p.geom = planGeometry(cw, ch, s, lim)
	switch {
	case animated:
	case head.Format == "jpeg" || head.Format == "webp":
		p.shrink = shrinkFor(cw, ch, p.geom.resizeW, p.geom.resizeH)
	case s.Crop == nil && (head.Format == "heic" || head.Format == "avif"):
		p.thumbnail, p.sequential = true, false
	}
	return p, nil
}

// load decodes the source as planLoad says.
func (j *job) load() error {
	p, err := planLoad(j.head, j.spec, j.lim, j.animated)
	if err != nil {
		return err
	}
	j.geom = p.geom
	if p.thumbnail {
		im, err := vips.Thumbnail(j.src, p.geom.resizeW, p.geom.resizeH, vips.SizeForce, j.spec.NoAutoOrient)
		if err != nil {
			return err
		}
		return j.start(im)
	}
	if p.sequential {
		im, err := vips.LoadSequential(j.src, p.shrink)
		if err != nil {
			return err
		}
		return j.start(im)
	}
	return j.loadShrunk(p.shrink)
}

// loadShrunk loads the source for random access shrunk by a power of two (1 = full size) and
// applies its EXIF orientation unless that is turned off.
func (j *job) loadShrunk(shrink int) error {
	im, err := vips.Load(j.src, shrink, j.animated)
	if err != nil {
		return err
	}
	if !j.spec.NoAutoOrient && !j.animated {
		if err := im.Autorot(); err != nil {
			im.Close()
			return err
		}
	}
	return j.start(im)
}

// start watches the loaded image for the deadline, brings it to sRGB (every
// later step works on 8-bit sRGB) and splits an animation into frames.
func (j *job) start(im *vips.Image) error {
	im.Watch(j.cancel)
	if err := im.ToSRGB(); err != nil {
		im.Close()
		return err
	}
	if !j.animated {
		j.frames = []*vips.Image{im}
		return nil
	}
	frames, err := im.Pages()
	im.Close() // the frames keep what they need
	j.frames = frames
	return err
}

// shrinkFor is the largest load-time shrink (1, 2, 4 or 8) that leaves a
// cw x ch area at least rw x rh.
func shrinkFor(cw, ch, rw, rh int) int {
	for _, f := range []int{8, 4, 2} {
		if cw/f >= rw && ch/f >= rh {
			return f
		}
	}
	return 1
}

// cropRect cuts the Spec's rectangle, resolved on the full-size frame and
// scaled to the frame as loaded (which a shrink-on-load made smaller).
func (j *job) cropRect(f *vips.Image) error {
	if j.spec.Crop == nil {
		return nil
	}
	w, h := j.orientedSize()
	x, y, cw, ch, _ := resolveRect(*j.spec.Crop, w, h)
	fw, fh := f.Width(), f.Height()
	sx, sy := float64(fw)/float64(w), float64(fh)/float64(h)
	x0, y0 := min(int(float64(x)*sx), fw-1), min(int(float64(y)*sy), fh-1)
	cw, ch = min(dim(float64(cw)*sx), fw-x0), min(dim(float64(ch)*sy), fh-y0)
	return f.Crop(x0, y0, cw, ch)
}

func (j *job) resize(f *vips.Image) error {
	if f.Width() == j.geom.resizeW && f.Height() == j.geom.resizeH {
		return nil
	}
	return f.Resize(j.geom.resizeW, j.geom.resizeH)
}

// materialize computes the resized frame into memory when a later step
// reads it out of order (libvips' loaders stream the source sequentially).
// The frame is output-sized, so this costs at most MaxOutput pixels.
func (j *job) materialize(f *vips.Image) error {
	s := j.spec
	if s.Rotate == 0 && !s.FlipV && !(s.Mode == "fill" && s.Gravity == "smart") {
		return nil
	}
	return f.Materialize()
}

// fill cuts the box out of the covering resize, by gravity or, for
// "smart", where libvips' attention strategy looks.
func (j *job) fill(f *vips.Image) error {
	g := j.geom
	w, h := f.Width(), f.Height()
	if g.cropW == 0 || (g.cropW >= w && g.cropH >= h) {
		return nil
	}
	cw, ch := min(g.cropW, w), min(g.cropH, h)
	if g.gravity == "smart" {
		return f.SmartCrop(cw, ch)
	}
	x, y := anchor(g.gravity, w, h, cw, ch)
	return f.Crop(x, y, cw, ch)
}

// pad letterboxes onto the box with Background: white by default, or
// transparent when the output format has alpha and no Background was asked.
func (j *job) pad(f *vips.Image) error {
	g := j.geom
	w, h := f.Width(), f.Height()
	if g.padW == 0 || (g.padW == w && g.padH == h) {
		return nil
	}
	bg := j.background()
	if j.spec.Background == "" && j.format != "jpeg" {
		bg = vips.Color{}
	}
	x, y := anchor(g.gravity, g.padW, g.padH, w, h)
	return f.Embed(x, y, g.padW, g.padH, bg)
}

// background is the Spec's colour, white when none was asked.
func (j *job) background() vips.Color {
	c := vips.Color{R: 255, G: 255, B: 255, A: 255}
	if b := j.spec.Background; len(b) == 6 {
		v, err := strconv.ParseUint(b, 16, 32)
		if err == nil {
			c.R, c.G, c.B = uint8(v>>16), uint8(v>>8), uint8(v)
		}
	}
	return c
}

func (j *job) rotate(f *vips.Image) error {
	if j.spec.Rotate == 0 {
		return nil
	}
	return f.Rotate(j.spec.Rotate)
}

func (j *job) flip(f *vips.Image) error {
	if j.spec.FlipH {
		if err := f.Flip(true); err != nil {
			return err
		}
	}
	if j.spec.FlipV {
		return f.Flip(false)
	}
	return nil
}

// directBlurSigma is the widest Gaussian computed at full size. libvips' cost grows with sigma
// (800x600: 55 ms at sigma 2, 850 ms at 60, 4.7 s at 250), so a wider blur is computed on the
// frame shrunk until its sigma is directBlurSigma, then enlarged back. A Gaussian of sigma s
// leaves nothing above a frequency the shrunk frame can still hold (its response at that
// frame's Nyquist limit is e^-123), so the picture is the same (42-47 dB PSNR against the
// full-size blur, TestWideBlurMatchesDirect) at a cost that no longer depends on sigma.
const directBlurSigma = 5.0

// blur applies the spec's sigma, but never wider than the frame's long side: past it, the
// frame is close to its mean tone already.
func (j *job) blur(f *vips.Image) error {
	sigma := min(j.spec.Blur, float64(max(f.Width(), f.Height())))
	switch {
	case sigma <= 0:
		return nil
	case sigma <= directBlurSigma:
		return f.Blur(sigma)
	}
	w, h := f.Width(), f.Height()
	k := sigma / directBlurSigma
	sw, sh := dim(float64(w)/k), dim(float64(h)/k)
	if err := f.Resize(sw, sh); err != nil {
		return err
	}
	if err := f.Blur(sigma * float64(sw) / float64(w)); err != nil {
		return err
	}
	return f.Resize(w, h)
}

func (j *job) sharpen(f *vips.Image) error {
	if j.spec.Sharpen <= 0 {
		return nil
	}
	return f.Sharpen(j.spec.Sharpen)
}

// adjust applies brightness (an offset of up to ±255) and contrast (a
// slope of 0..2 around mid-grey) in one linear step.
func (j *job) adjust(f *vips.Image) error {
	br, co := j.spec.Brightness, j.spec.Contrast
	if br == 0 && co == 0 {
		return nil
	}
	a := float64(100+co) / 100
	b := 128*(1-a) + float64(br)*255/100
	return f.Linear(a, b)
}

// flatten removes alpha where the output cannot keep it (JPEG) or where a
// Background was asked.
func (j *job) flatten(f *vips.Image) error {
	if j.format != "jpeg" && j.spec.Background == "" {
		return nil
	}
	return f.Flatten(j.background())
}
