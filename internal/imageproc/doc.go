// Package imageproc owns image transforms: the canonical Spec that every URL dialect (imgix
// query parameters, x-oss-process, image_process) parses into, so that equivalent URLs share
// one cache entry; NegotiateFormat, which picks the output format from Accept; and Process,
// the pipeline that runs a Spec over a source as an ordered list of small steps on libvips
// (through imageproc/vips, the only cgo package), with the limits (source bytes and pixels,
// output size, deadline) and the Limiter that bound the work one request may cause. The
// parsers are pure; only Process and Probe touch libvips. Errors are *Error of kind
// ErrNotImage, ErrUnprocessable or ErrTimeout (and *ParamError for bad parameters), which the
// edge maps to statuses in one place.
package imageproc
