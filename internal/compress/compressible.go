package compress

import "strings"

// MinSize is the smallest body worth compressing: below about 1 KiB the
// saving is eaten by the coding's framing and a packet or so of headers.
const MinSize = 1024

// compressibleTypes are the exact media types (besides text/*) whose bodies
// shrink well. WOFF and WOFF2 fonts are left out: they are compressed already.
var compressibleTypes = map[string]bool{
	"application/javascript":   true,
	"application/x-javascript": true,
	"application/ecmascript":   true,
	"application/json":         true,
	"application/xml":          true,
	"image/svg+xml":            true,
	"font/ttf":                 true,
	"font/otf":                 true,
}

// Compressible reports whether a response with this Content-Type,
// Content-Encoding and body size should be compressed at the edge. A body
// the origin already encoded (any Content-Encoding but "identity") is never
// re-encoded: double coding wastes CPU and breaks clients.
func Compressible(contentType, contentEncoding string, size int64) bool {
	return size > MinSize && CompressibleType(contentType, contentEncoding)
}

// CompressibleType is Compressible without the size rule, for callers with their own limits.
func CompressibleType(contentType, contentEncoding string) bool {
	if ce := strings.TrimSpace(contentEncoding); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	return compressibleType(contentType)
}

// compressibleType matches the media type with parameters and case ignored.
func compressibleType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" {
		return false
	}
	if typ == "text" || compressibleTypes[mt] {
		return true
	}
	// Structured-syntax suffixes (RFC 6839): application/ld+json, application/atom+xml, ...
	return typ == "application" && (strings.HasSuffix(sub, "+json") || strings.HasSuffix(sub, "+xml"))
}
