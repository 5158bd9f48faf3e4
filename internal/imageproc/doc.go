// Package imageproc owns the canonical image transform spec: the URL dialects
// (imgix query parameters, x-oss-process, image_process) all parse into one
// Spec so that equivalent URLs share one cache entry, and NegotiateFormat picks
// the output format from Accept. It is pure Go and does no I/O; the libvips
// binding lives in imageproc/vips.
package imageproc
