// Package compress owns text compression at the edge: choosing a content
// coding from Accept-Encoding, deciding which responses are worth
// compressing, and producing brotli, zstd and gzip bodies with levels chosen
// for on-the-fly use (the edge caches each encoding once, so the cost is paid
// per object and encoding, not per request).
package compress
