package httpcache

import (
	"strconv"
	"time"
)

// Status is one cache's entry in the Cache-Status field (RFC 9211).
type Status struct {
	Hit       bool          // served from cache without going forward
	Fwd       string        // why it went forward: "bypass", "method", "uri-miss", "vary-miss", "miss", "request", "stale"; "" for none
	FwdStatus int           // the status the next hop answered when forwarded; 0 omits it
	Stored    bool          // the forwarded response was stored
	Collapsed bool          // this request was coalesced onto another's fill
	TTL       time.Duration // remaining freshness, negative when stale
	HasTTL    bool
	Detail    string // free-form; written as a token when it is one, else as a string
	// Prior is the Cache-Status of the caches nearer the origin that this answer came through
	// (a peer, a parent tier), written before this cache's member as RFC 9211 orders them.
	Prior string
}

// Append appends the Cache-Status member for cacheName to b, e.g. `pixcdn; hit; ttl=3597` or
// `pixcdn; fwd=uri-miss; fwd-status=200; stored; ttl=60`. TTL is written in whole seconds,
// rounded down so that anything stale reads negative. Names and details that are not
// Structured Fields tokens are written as sf-strings, with bytes outside printable ASCII replaced
// by '?'. It does not allocate when b has room, because the hit path calls it on every request.
func (s Status) Append(b []byte, cacheName string) []byte {
	if s.Prior != "" {
		b = append(b, s.Prior...)
		b = append(b, ", "...)
	}
	b = appendTokenOrString(b, cacheName)
	if s.Hit {
		b = append(b, "; hit"...)
	}
	if s.Fwd != "" {
		b = append(b, "; fwd="...)
		b = appendTokenOrString(b, s.Fwd)
	}
	if s.FwdStatus != 0 {
		b = append(b, "; fwd-status="...)
		b = strconv.AppendInt(b, int64(s.FwdStatus), 10)
	}
	if s.Stored {
		b = append(b, "; stored"...)
	}
	if s.Collapsed {
		b = append(b, "; collapsed"...)
	}
	if s.HasTTL {
		b = append(b, "; ttl="...)
		b = strconv.AppendInt(b, floorSeconds(s.TTL), 10)
	}
	if s.Detail != "" {
		b = append(b, "; detail="...)
		b = appendTokenOrString(b, s.Detail)
	}
	return b
}

func floorSeconds(d time.Duration) int64 {
	sec := int64(d / time.Second)
	if d%time.Second < 0 {
		sec--
	}
	return sec
}

// appendTokenOrString writes s as an sf-token (RFC 8941 3.3.4) when it is one, else as an
// sf-string (3.3.3).
func appendTokenOrString(b []byte, s string) []byte {
	if isSFToken(s) {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c > 0x7E:
			b = append(b, '?')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// isSFToken: ( ALPHA / "*" ) *( tchar / ":" / "/" ).
func isSFToken(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isTchar(c) && c != ':' && c != '/' {
			return false
		}
	}
	return true
}
