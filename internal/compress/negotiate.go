package compress

import (
	"strconv"
	"strings"
)

// Content codings produced by this package. Identity is the empty string so
// that "no encoding" is the zero value and needs no Content-Encoding header.
const (
	Brotli   = "br"
	Zstd     = "zstd"
	Gzip     = "gzip"
	Identity = ""
)

// preference orders the codings we produce, best first: brotli compresses
// text the tightest, zstd decodes fastest, gzip is understood everywhere.
var preference = [...]string{Brotli, Zstd, Gzip}

// Negotiate returns the coding to use for a request with the given
// Accept-Encoding header: the acceptable coding with the highest q-value,
// ties broken by preference (br, then zstd, then gzip). A q of 0 refuses a
// coding; "*" stands for every coding not named; unparseable elements are
// ignored rather than failing the request. It returns Identity when nothing
// we produce is acceptable, including for an empty header (RFC 9110 12.5.3).
func Negotiate(acceptEncoding string) string {
	return NegotiateAmong(acceptEncoding, preference[:])
}

// NegotiateAmong is Negotiate over the codings offered, which are listed best first (a
// domain may offer fewer than all three).
func NegotiateAmong(acceptEncoding string, offered []string) string {
	named, star, hasStar := parseAcceptEncoding(acceptEncoding)
	best, bestQ := Identity, 0.0
	for _, coding := range offered {
		q, ok := named[coding]
		if !ok {
			if !hasStar {
				continue
			}
			q = star
		}
		if q > bestQ {
			best, bestQ = coding, q
		}
	}
	return best
}

// parseAcceptEncoding maps each named coding (lower case) to its q-value and
// reports the q of "*" if present. When a coding appears twice, the first
// occurrence wins, which is what most servers do.
func parseAcceptEncoding(h string) (named map[string]float64, star float64, hasStar bool) {
	named = make(map[string]float64, 4)
	for elem := range strings.SplitSeq(h, ",") {
		coding, q, ok := parseElement(elem)
		if !ok {
			continue
		}
		switch {
		case coding == "*":
			if !hasStar {
				star, hasStar = q, true
			}
		default:
			if coding == "x-gzip" { // RFC 9110 8.4.1.3: an alias kept for old clients
				coding = Gzip
			}
			if _, seen := named[coding]; !seen {
				named[coding] = q
			}
		}
	}
	return named, star, hasStar
}

// parseElement parses one "coding;q=0.5" element. ok is false for an empty
// or malformed element, so that one bad element does not spoil the header.
func parseElement(elem string) (coding string, q float64, ok bool) {
	name, params, _ := strings.Cut(elem, ";")
	coding = strings.ToLower(strings.TrimSpace(name))
	if coding == "" || strings.ContainsAny(coding, " \t\"=") {
		return "", 0, false
	}
	q = 1
	for p := range strings.SplitSeq(params, ";") {
		key, val, found := strings.Cut(p, "=")
		if !found {
			if strings.TrimSpace(p) != "" {
				return "", 0, false
			}
			continue
		}
		if !strings.EqualFold(strings.TrimSpace(key), "q") {
			continue
		}
		v, err := parseQValue(strings.TrimSpace(val))
		if err != nil {
			return "", 0, false
		}
		q = v
	}
	return coding, q, true
}

// errBadQ is internal: a bad q-value drops its element, it never reaches callers.
type errBadQ string

func (e errBadQ) Error() string { return "compress: bad q-value " + strconv.Quote(string(e)) }

// parseQValue accepts the RFC 9110 qvalue grammar loosely (any decimal in
// [0, 1]) but refuses NaN, infinities, exponents and signs, which
// strconv.ParseFloat would otherwise let through.
func parseQValue(s string) (float64, error) {
	if s == "" || strings.ContainsAny(s, "eEnNiIxX+-_") {
		return 0, errBadQ(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return 0, errBadQ(s)
	}
	return v, nil
}
