package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// Validators of a stored representation.
type Validators struct {
	ETag         string    // as sent, with quotes and any W/ prefix; "" when none
	LastModified time.Time // zero when none or invalid
}

// ValidatorsOf reads ETag and Last-Modified from a response header. An ETag that is not a valid
// entity-tag is dropped: matching against it could only give wrong answers.
func ValidatorsOf(h http.Header) Validators {
	var v Validators
	if tag, rest, ok := scanETag(trimOWS(h.Get("Etag"))); ok && rest == "" {
		v.ETag = tag
	}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		v.LastModified = t
	}
	return v
}

// CheckPreconditions evaluates If-Match, If-Unmodified-Since, If-None-Match and
// If-Modified-Since against a stored representation in RFC 9110 13.2.2 order, and returns 0
// (serve normally), 304 (Not Modified) or 412 (Precondition Failed).
//
// If-Match uses the strong comparison and If-None-Match the weak one (RFC 9110 13.1.1, 13.1.2);
// "*" matches because a stored representation exists. If-Unmodified-Since is ignored when
// If-Match is present, If-Modified-Since when If-None-Match is present or the method is not GET
// or HEAD; both are ignored when the date is invalid or the representation has no
// Last-Modified (RFC 9110 13.1.3, 13.1.4). Whether If-Modified-Since lies in the future is left to
// the caller, which has the clock.
func CheckPreconditions(method string, reqHeader http.Header, v Validators) int {
	getOrHead := method == http.MethodGet || method == http.MethodHead
	if lines, ok := reqHeader["If-Match"]; ok {
		if !matchAny(lines, v.ETag, strongMatch) {
			return http.StatusPreconditionFailed
		}
	} else if ius, ok := headerDate(reqHeader, "If-Unmodified-Since"); ok && !v.LastModified.IsZero() {
		if v.LastModified.After(ius) {
			return http.StatusPreconditionFailed
		}
	}
	if lines, ok := reqHeader["If-None-Match"]; ok {
		if !matchAny(lines, v.ETag, weakMatch) {
			return 0
		}
		if getOrHead {
			return http.StatusNotModified
		}
		return http.StatusPreconditionFailed
	}
	if ims, ok := headerDate(reqHeader, "If-Modified-Since"); ok && getOrHead && !v.LastModified.IsZero() {
		if !v.LastModified.After(ims) {
			return http.StatusNotModified
		}
	}
	return 0
}

// headerDate parses the first line of a date field.
func headerDate(h http.Header, name string) (time.Time, bool) {
	lines := h[name]
	if len(lines) == 0 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(trimOWS(lines[0]))
	return t, err == nil
}

// matchAny reports whether the entity-tag list in lines ("*" or #entity-tag) matches current.
// Parsing stops at the first malformed member; what came before still counts.
func matchAny(lines []string, current string, eq func(a, b string) bool) bool {
	for _, s := range lines {
		for {
			s = trimOWSLeft(s)
			for s != "" && s[0] == ',' {
				s = trimOWSLeft(s[1:])
			}
			if s == "" {
				break
			}
			if s[0] == '*' {
				return true // a stored representation exists
			}
			tag, rest, ok := scanETag(s)
			if !ok {
				break
			}
			if current != "" && eq(tag, current) {
				return true
			}
			s = rest
		}
	}
	return false
}

// scanETag reads one entity-tag (RFC 9110 8.8.3) at the start of s and returns it, with what
// follows. Commas are legal inside the opaque tag, so the list cannot be split on commas first.
func scanETag(s string) (tag, rest string, ok bool) {
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s) < start+2 || s[start] != '"' {
		return "", s, false
	}
	for i := start + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return s[:i+1], s[i+1:], true
		case c == 0x21 || (0x23 <= c && c <= 0x7E) || c >= 0x80:
		default:
			return "", s, false
		}
	}
	return "", s, false
}

func isWeak(tag string) bool { return strings.HasPrefix(tag, "W/") }

// strongMatch: both tags strong and identical (RFC 9110 8.8.3.2).
func strongMatch(a, b string) bool { return !isWeak(a) && !isWeak(b) && a == b }

// weakMatch: the opaque tags are identical, W/ or not.
func weakMatch(a, b string) bool { return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/") }
