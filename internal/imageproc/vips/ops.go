package vips

/*
#include "px.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Each method below replaces the image with the result of one libvips
// operation. libvips is lazy: they build the pipeline, Save computes it.

// Resize scales to exactly width x height (aspect changes if asked) with lanczos3, alpha
// premultiplied.
func (im *Image) Resize(width, height int) error {
	return im.replace("resize", func(out **C.VipsImage) C.int {
		return C.px_resize(im.p, C.int(width), C.int(height), out)
	})
}

// Autorot applies the EXIF orientation and removes the tag.
func (im *Image) Autorot() error {
	return im.replace("autorot", func(out **C.VipsImage) C.int { return C.px_autorot(im.p, out) })
}

// Materialize computes the image into memory. Loads are sequential (they
// stream the source once), so a step that reads pixels out of order, such as
// a rotation or a smart crop, needs the pixels materialized first.
func (im *Image) Materialize() error {
	return im.replace("materialize", func(out **C.VipsImage) C.int { return C.px_materialize(im.p, out) })
}

// Crop keeps the area at (x, y) of size w x h, which must lie inside the image.
func (im *Image) Crop(x, y, w, h int) error {
	return im.replace("crop", func(out **C.VipsImage) C.int {
		return C.px_extract(im.p, C.int(x), C.int(y), C.int(w), C.int(h), out)
	})
}

// SmartCrop keeps the w x h area libvips' attention strategy finds most
// interesting (skin, saturated colour, edges).
func (im *Image) SmartCrop(w, h int) error {
	return im.replace("smartcrop", func(out **C.VipsImage) C.int {
		return C.px_smartcrop(im.p, C.int(w), C.int(h), out)
	})
}

// Color is 8-bit RGBA.
type Color struct{ R, G, B, A uint8 }

// Embed places the image at (x, y) on a w x h canvas of bg; a transparent
// bg adds an alpha band to an opaque image.
func (im *Image) Embed(x, y, w, h int, bg Color) error {
	return im.replace("embed", func(out **C.VipsImage) C.int {
		return C.px_embed(im.p, C.int(x), C.int(y), C.int(w), C.int(h),
			C.double(bg.R), C.double(bg.G), C.double(bg.B), C.double(bg.A), out)
	})
}

// Rotate turns the image clockwise by 90, 180 or 270 degrees.
func (im *Image) Rotate(angle int) error {
	if angle != 90 && angle != 180 && angle != 270 {
		return &Error{Kind: ErrFailed, Op: "rotate", Msg: fmt.Sprintf("angle %d is not a right angle", angle)}
	}
	return im.replace("rotate", func(out **C.VipsImage) C.int { return C.px_rot(im.p, C.int(angle), out) })
}

// Flip mirrors left-right when horizontal, else top-bottom.
func (im *Image) Flip(horizontal bool) error {
	return im.replace("flip", func(out **C.VipsImage) C.int { return C.px_flip(im.p, cbool(horizontal), out) })
}

// Blur is a gaussian blur of the given sigma.
func (im *Image) Blur(sigma float64) error {
	return im.replace("blur", func(out **C.VipsImage) C.int { return C.px_blur(im.p, C.double(sigma), out) })
}

// Sharpen is libvips' unsharp mask of the given sigma; the result is sRGB.
func (im *Image) Sharpen(sigma float64) error {
	return im.replace("sharpen", func(out **C.VipsImage) C.int { return C.px_sharpen(im.p, C.double(sigma), out) })
}

// Linear maps each colour band v to a*v + b (clipped to 0..255); alpha is kept.
func (im *Image) Linear(a, b float64) error {
	return im.replace("linear", func(out **C.VipsImage) C.int {
		return C.px_linear(im.p, C.double(a), C.double(b), out)
	})
}

// Flatten composes an image with alpha onto an opaque colour; an opaque
// image is left as is.
func (im *Image) Flatten(bg Color) error {
	return im.replace("flatten", func(out **C.VipsImage) C.int {
		return C.px_flatten(im.p, C.double(bg.R), C.double(bg.G), C.double(bg.B), out)
	})
}

// Composite draws mark over the image at (x, y) with opacity 0..1. Both must
// be sRGB (see ToSRGB); the image keeps its bands.
func (im *Image) Composite(mark *Image, x, y int, opacity float64) error {
	return im.replace("composite", func(out **C.VipsImage) C.int {
		return C.px_composite(im.p, mark.p, C.int(x), C.int(y), C.double(opacity), out)
	})
}

// ToSRGB converts to 8-bit sRGB (3 bands, 4 with alpha) through the embedded
// ICC profile when it is usable, else by libvips' colourspace rules.
func (im *Image) ToSRGB() error {
	return im.replace("srgb", func(out **C.VipsImage) C.int { return C.px_srgb(im.p, out) })
}

// Pages splits an image loaded with all pages into its frames; each frame
// is a new Image the caller closes. A still gives one frame.
func (im *Image) Pages() ([]*Image, error) {
	h := im.Header()
	n := im.p.Ysize / C.int(h.Height)
	frames := make([]*Image, 0, n)
	for i := C.int(0); i < n; i++ {
		var out *C.VipsImage
		if C.px_extract(im.p, 0, i*C.int(h.Height), im.p.Xsize, C.int(h.Height), &out) != 0 {
			CloseAll(frames)
			return nil, failure("pages", im.cancel)
		}
		frames = append(frames, &Image{p: out, cancel: im.cancel})
	}
	return frames, nil
}

// Join stacks equally sized frames into one animated image; the frames stay
// owned by the caller.
func Join(frames []*Image) (*Image, error) {
	if len(frames) == 0 {
		return nil, &Error{Kind: ErrFailed, Op: "join", Msg: "no frames"}
	}
	ptrs := C.malloc(C.size_t(len(frames)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(ptrs)
	arr := unsafe.Slice((**C.VipsImage)(ptrs), len(frames))
	for i, f := range frames {
		arr[i] = f.p
	}
	var out *C.VipsImage
	if C.px_join((**C.VipsImage)(ptrs), C.int(len(frames)), &out) != 0 {
		return nil, failure("join", frames[0].cancel)
	}
	return &Image{p: out, cancel: frames[0].cancel}, nil
}

// CloseAll closes every image in list.
func CloseAll(list []*Image) {
	for _, im := range list {
		im.Close()
	}
}

// Mean returns the mean of each band over the w x h area at (x, y); it
// computes pixels, so tests use it to check content by tolerance.
func (im *Image) Mean(x, y, w, h int) ([]float64, error) {
	m, _, err := im.Stats(x, y, w, h)
	return m, err
}

// Stats returns the mean and the standard deviation of each band over the
// w x h area at (x, y).
func (im *Image) Stats(x, y, w, h int) (mean, dev []float64, err error) {
	var v, d [4]C.double
	n := C.px_avg(im.p, C.int(x), C.int(y), C.int(w), C.int(h), &v[0], &d[0], 4)
	if n < 0 {
		return nil, nil, failure("stats", im.cancel)
	}
	mean, dev = make([]float64, int(n)), make([]float64, int(n))
	for i := range mean {
		mean[i], dev[i] = float64(v[i]), float64(d[i])
	}
	return mean, dev, nil
}
