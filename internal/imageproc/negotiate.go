package imageproc

import (
	"strconv"
	"strings"
)

// NegotiateFormat chooses the output format for format=auto from an Accept
// header: AVIF, then WebP, then the source format, ranked by q-value (ties
// keep that order). AVIF and WebP count only when named explicitly: browsers
// that cannot decode them still send image/* and */*, so a wildcard never
// selects them. A q of 0 refuses a type. The source format is the fallback
// whatever Accept says, since the edge never answers 406 for an image.
// source is a format name ("jpeg", "jpg", "png", ...); jpg is answered as jpeg.
func NegotiateFormat(accept string, source string) string {
	src := normFormat(source)
	if src == "" {
		src = strings.ToLower(source)
	}
	qAVIF, qWebP := acceptQ(accept, "avif", false), acceptQ(accept, "webp", false)
	qSrc := acceptQ(accept, src, true)
	best, bestQ := src, max(qSrc, 0) // the source is the fallback even when Accept never names it
	// Walk from least to most preferred so ties go to the preferred format.
	for _, c := range []struct {
		f string
		q float64
	}{{"webp", qWebP}, {"avif", qAVIF}} {
		if c.f != src && c.q > 0 && c.q >= bestQ {
			best, bestQ = c.f, c.q
		}
	}
	return best
}

// acceptQ returns the q-value Accept gives image/<sub>, or -1 if no range
// matches. The most specific matching range wins (RFC 9110 12.5.1); with
// wildcards false only an explicit image/<sub> matches.
func acceptQ(accept, sub string, wildcards bool) float64 {
	q, spec := -1.0, -1
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		s := -1
		switch {
		case mt == "image/"+sub:
			s = 2
		case wildcards && mt == "image/*":
			s = 1
		case wildcards && mt == "*/*":
			s = 0
		}
		if s > spec {
			q, spec = parseQ(params), s
		}
	}
	return q
}

// parseQ reads q= from media-range parameters; absent or malformed means 1.
func parseQ(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || strings.ToLower(strings.TrimSpace(k)) != "q" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f || f < 0 || f > 1 {
			return 1
		}
		return f
	}
	return 1
}
