// Package vips is pixcdn's thin binding of libvips, and the only package of
// the module that uses cgo. It owns the process-wide libvips state (started
// once, with libvips' own operation cache off and only the jpeg, png, webp,
// gif and heif/avif loaders allowed), an Image handle that is closed
// explicitly, and one C call per coarse pipeline step (px.c), so that a job
// crosses into C a dozen times, never per pixel or per option.
//
// libvips evaluates lazily: the steps only build a pipeline and the pixels
// are computed when Save runs, which is why a job's deadline is enforced by a
// Canceller watching evaluation rather than by checks between calls alone.
package vips
