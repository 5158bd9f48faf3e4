package vips

/*
#include "px.h"
*/
import "C"

import "unsafe"

// SaveOptions are the encoder settings of Save. Metadata is always stripped.
type SaveOptions struct {
	Format   string // jpeg | png | webp | avif | gif
	Quality  int    // 1..100 for jpeg, webp and avif
	Effort   int    // png: zlib level 0..9; webp: 0..6; avif: 0..9; gif: 1..10
	Lossless bool   // webp and avif
}

var formatCodes = map[string]C.int{"jpeg": C.PX_JPEG, "png": C.PX_PNG, "webp": C.PX_WEBP, "avif": C.PX_AVIF, "gif": C.PX_GIF}

// Save computes the image and encodes it. JPEG is progressive with optimised
// Huffman tables and chroma subsampling below quality 90; WebP and GIF keep
// the frames of an image made by Join.
func (im *Image) Save(o SaveOptions) ([]byte, error) {
	code, ok := formatCodes[o.Format]
	if !ok {
		return nil, &Error{Kind: ErrFailed, Op: "save", Msg: "unknown format " + o.Format}
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.px_save(im.p, code, C.int(o.Quality), C.int(o.Effort), cbool(o.Lossless), &buf, &n) != 0 {
		return nil, failure("save "+o.Format, im.cancel)
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}
