package httpcache

import (
	"net/http"
	"strings"
)

// hopByHop are the fields RFC 9110 7.6.1 says a proxy must not forward, in canonical form
// ("Proxy-Connection" and "Keep-Alive" are pre-standard but still sent).
var hopByHop = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// RemoveHopByHop deletes, in place, Connection and every field it names, then the fixed
// hop-by-hop fields (RFC 9110 7.6.1), and Alt-Svc: an upstream's alternative services (its
// own HTTP/3 port, RFC 7838) are not the ones of the cache that relays its answer.
func RemoveHopByHop(h http.Header) {
	for _, line := range h["Connection"] {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			if f = trimOWS(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, f := range hopByHop {
		delete(h, f)
	}
	delete(h, "Alt-Svc")
}

// notUpdatedBy304 are the fields a 304 must not overwrite: they describe the stored body's bytes,
// which the 304 did not send (RFC 9111 3.2, 4.3.4).
var notUpdatedBy304 = map[string]bool{
	"Content-Length":    true,
	"Content-Encoding":  true,
	"Content-Range":     true,
	"Transfer-Encoding": true,
}

// MergeNotModified freshens a stored response's header from a 304 (RFC 9111 3.2, 4.3.4): every
// field of the 304 replaces the stored one, except Content-Length, Content-Encoding,
// Content-Range, Transfer-Encoding and the 304's hop-by-hop fields. It returns a new header and
// modifies neither argument.
func MergeNotModified(stored, notModified http.Header) http.Header {
	out := stored.Clone()
	if out == nil {
		out = http.Header{}
	}
	update := notModified.Clone()
	RemoveHopByHop(update)
	for k, vs := range update {
		if notUpdatedBy304[http.CanonicalHeaderKey(k)] {
			continue
		}
		out[k] = vs
	}
	return out
}

// NoTransform reports whether a response's Cache-Control carries no-transform: an
// intermediary must then not change its representation (RFC 9110 7.7), a content coding
// included.
func NoTransform(h http.Header) bool { return ParseCacheControl(h["Cache-Control"]).NoTransform }

// AddVary adds field to h's Vary unless it is listed already (in any case).
func AddVary(h http.Header, field string) {
	for _, line := range h["Vary"] {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			if strings.EqualFold(trimOWS(f), field) {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], field)
}

// VaryWithout is h's Vary fields, as written, less field (in any case).
func VaryWithout(h http.Header, field string) []string {
	var out []string
	for _, line := range h["Vary"] {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			if f = trimOWS(f); f != "" && !strings.EqualFold(f, field) {
				out = append(out, f)
			}
		}
	}
	return out
}
