package vips

/*
#include "px.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

// SaveOptions are the encoder settings of Save. Metadata is always stripped.
type SaveOptions struct {
	Format   string // jpeg | png | webp | avif | gif
	Quality  int    // 1..100 for jpeg, webp and avif
	Effort   int    // png: zlib level 0..9; webp: 0..6; avif: 0..9; gif: 1..10
	Lossless bool   // webp and avif
	// Progressive JPEG (several scans, coarse to fine) rather than baseline (one scan).
	Progressive bool
}

var formatCodes = map[string]C.int{"jpeg": C.PX_JPEG, "png": C.PX_PNG, "webp": C.PX_WEBP, "avif": C.PX_AVIF, "gif": C.PX_GIF}

// Save computes the image and encodes it. JPEG has optimised Huffman tables and chroma
// subsampling below quality 90; WebP and GIF keep the frames of an image made by Join.
func (im *Image) Save(o SaveOptions) ([]byte, error) {
	code, ok := formatCodes[o.Format]
	if !ok {
		return nil, &Error{Kind: ErrFailed, Op: "save", Msg: "unknown format " + o.Format}
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.px_save(im.p, code, C.int(o.Quality), C.int(o.Effort), cbool(o.Lossless), cbool(o.Progressive), &buf, &n) != 0 {
		return nil, failure("save "+o.Format, im.cancel)
	}
	defer C.g_free(C.gpointer(buf))
	out := C.GoBytes(buf, C.int(n))
	if o.Format == "webp" {
		out = stripWebP(out)
	}
	return out, nil
}

// stripWebP drops EXIF and XMP chunks from a WebP file. libvips 8.14's
// webpsave writes a fresh EXIF block even when told to strip (the CLI's
// --strip does the same), so the bytes are cleaned here. A file that does not
// parse as expected is returned unchanged.
func stripWebP(b []byte) []byte {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" || string(b[12:16]) != "VP8X" {
		return b
	}
	out := append(make([]byte, 0, len(b)), b[:12]...)
	for i := 12; i+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + size + size&1 // chunks are padded to even sizes
		if end > len(b) {
			return b
		}
		switch string(b[i : i+4]) {
		case "EXIF", "XMP ":
		case "VP8X":
			chunk := append([]byte{}, b[i:end]...)
			chunk[8] &^= 0x08 | 0x04 // the EXIF and XMP flags
			out = append(out, chunk...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}
