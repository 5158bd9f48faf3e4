package vips

/*
#include "px.h"
*/
import "C"

import (
	"bytes"
	"strings"
	"unsafe"
)

// Header is what a source's header says, read without decoding pixels.
type Header struct {
	Loader         string // libvips loader class, e.g. "VipsForeignLoadJpegBuffer"
	Format         string // jpeg | png | webp | gif | avif | heic
	Width, Height  int    // one page
	Pages          int    // frames of an animation, 1 for a still
	Orientation    int    // EXIF orientation 1..8 (1 when absent)
	Alpha          bool
	Bands          int
	HasEXIF        bool
	HasICC         bool
	Interpretation string // libvips' name, e.g. "srgb", "b-w", "cmyk"
}

// Probe reads buf's header. A buffer no allowed loader recognises is
// ErrUnsupported; a recognised but broken header is ErrFailed.
func Probe(buf []byte) (Header, error) {
	if err := start(); err != nil {
		return Header{}, err
	}
	if len(buf) == 0 {
		return Header{}, &Error{Kind: ErrUnsupported, Op: "probe", Msg: "empty"}
	}
	var h C.px_header
	switch C.px_probe(unsafe.Pointer(&buf[0]), C.size_t(len(buf)), &h) {
	case 0:
	case -2:
		return Header{}, &Error{Kind: ErrUnsupported, Op: "probe", Msg: takeError()}
	default:
		return Header{}, &Error{Kind: ErrFailed, Op: "probe", Msg: takeError()}
	}
	out := header(&h)
	out.Loader = C.GoString(&h.loader[0])
	out.Format = formatOf(out.Loader, buf)
	if out.Format == "" { // cannot happen while px_init blocks other loaders
		return Header{}, &Error{Kind: ErrUnsupported, Op: "probe", Msg: out.Loader}
	}
	return out, nil
}

func header(h *C.px_header) Header {
	return Header{
		Width: int(h.width), Height: int(h.height), Pages: max(int(h.pages), 1),
		Orientation: max(int(h.orientation), 1), Alpha: h.alpha != 0, Bands: int(h.bands),
		HasEXIF: h.has_exif != 0, HasICC: h.has_icc != 0,
		Interpretation: C.GoString(&h.interpretation[0]),
	}
}

// formatOf maps an allowed loader to a format name; HEIF containers are
// told apart by their ftyp brand, since one loader reads AVIF and HEIC.
func formatOf(loader string, buf []byte) string {
	switch {
	case strings.HasPrefix(loader, "VipsForeignLoadJpeg"):
		return "jpeg"
	case strings.HasPrefix(loader, "VipsForeignLoadPng"):
		return "png"
	case strings.HasPrefix(loader, "VipsForeignLoadWebp"):
		return "webp"
	case strings.HasPrefix(loader, "VipsForeignLoadNsgif"):
		return "gif"
	case strings.HasPrefix(loader, "VipsForeignLoadHeif"):
		if len(buf) >= 12 && (bytes.Equal(buf[8:12], []byte("avif")) || bytes.Equal(buf[8:12], []byte("avis"))) {
			return "avif"
		}
		return "heic"
	}
	return ""
}

// Image is a libvips image handle. It is not safe for concurrent use, and
// must be closed: there is no finalizer, so a forgotten Close is a leak the
// package's loop test would see.
type Image struct {
	p      *C.VipsImage
	cancel *Canceller
}

// Close releases the image; it is safe to call twice.
func (im *Image) Close() {
	if im != nil && im.p != nil {
		C.px_unref(im.p)
		im.p = nil
	}
}

// Header describes the image as it is now (after the steps applied so far).
func (im *Image) Header() Header {
	var h C.px_header
	C.px_describe(im.p, &h)
	return header(&h)
}

// Width and Height of one page.
func (im *Image) Width() int  { return int(im.p.Xsize) }
func (im *Image) Height() int { return im.Header().Height }

// Size selects which way Thumbnail may resize.
type Size int

// The sizes of vips_thumbnail.
const (
	SizeBoth  Size = C.VIPS_SIZE_BOTH
	SizeUp    Size = C.VIPS_SIZE_UP
	SizeDown  Size = C.VIPS_SIZE_DOWN
	SizeForce Size = C.VIPS_SIZE_FORCE
)

// Thumbnail loads buf and resizes it into width x height in one libvips
// operation, which shrinks on load (a JPEG is decoded at 1/2, 1/4 or 1/8
// size when that is enough) and auto-rotates unless noRotate.
func Thumbnail(buf []byte, width, height int, size Size, noRotate bool) (*Image, error) {
	if err := start(); err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, &Error{Kind: ErrUnsupported, Op: "thumbnail", Msg: "empty"}
	}
	var out *C.VipsImage
	if C.px_thumbnail(unsafe.Pointer(&buf[0]), C.size_t(len(buf)), C.int(width), C.int(height), C.int(size), cbool(noRotate), &out) != 0 {
		return nil, failure("thumbnail", nil)
	}
	return &Image{p: out}, nil
}

// Load opens buf lazily for random access. shrink > 1 asks the JPEG and WebP loaders to
// decode at 1/shrink size (others ignore it); allPages loads every frame of a GIF or WebP as
// one tall image with a page height.
func Load(buf []byte, shrink int, allPages bool) (*Image, error) {
	return load("load", buf, shrink, allPages, false)
}

// LoadSequential opens one frame of buf for a single top-to-bottom pass (libvips' sequential
// access), shrunk as Load does: the decoder then streams into the pipeline as it is computed,
// with no full-size buffer of its own. A step that reads pixels out of order (rotation,
// EXIF auto-rotation, a vertical flip, smart crop) must Materialize the image first.
func LoadSequential(buf []byte, shrink int) (*Image, error) {
	return load("load", buf, shrink, false, true)
}

func load(op string, buf []byte, shrink int, allPages, sequential bool) (*Image, error) {
	if err := start(); err != nil {
		return nil, err
	}
	if len(buf) == 0 {
		return nil, &Error{Kind: ErrUnsupported, Op: op, Msg: "empty"}
	}
	var out *C.VipsImage
	switch C.px_load(unsafe.Pointer(&buf[0]), C.size_t(len(buf)), C.int(shrink), cbool(allPages), cbool(sequential), &out) {
	case 0:
	case -2:
		return nil, &Error{Kind: ErrUnsupported, Op: op, Msg: takeError()}
	default:
		return nil, failure(op, nil)
	}
	return &Image{p: out}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// replace runs one C step producing a new image and swaps it in, releasing
// the old handle (the new image keeps what it needs of it alive).
func (im *Image) replace(op string, step func(out **C.VipsImage) C.int) error {
	var out *C.VipsImage
	if step(&out) != 0 {
		return failure(op, im.cancel)
	}
	C.px_unref(im.p)
	im.p = out
	return nil
}
