package httpcache

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// ByteRange is one satisfiable byte range of a representation: Length bytes from Start.
type ByteRange struct {
	Start, Length int64
}

// ParseRange interprets a Range header against a representation of size bytes (RFC 9110 14.2).
// Only a single byte range is honoured: it returns status 206 and the range clamped to the
// representation. An unsatisfiable single range gives 416. Everything else (no header, another
// unit, several ranges, malformed syntax) gives 200: serve the whole representation, which RFC
// 9110 14.2 always allows and which spares the edge multipart/byteranges.
func ParseRange(header string, size int64) (r ByteRange, status int) {
	unit, set, ok := strings.Cut(header, "=")
	if !ok || !strings.EqualFold(trimOWS(unit), "bytes") || size < 0 {
		return ByteRange{}, 200
	}
	spec, ok := singleSpec(set)
	if !ok {
		return ByteRange{}, 200
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return ByteRange{}, 200
	}
	if first == "" {
		return suffixRange(last, size)
	}
	start, ok1 := parsePos(first)
	end, ok2 := parsePos(last)
	switch {
	case !ok1 || (last != "" && !ok2):
		return ByteRange{}, 200
	case last != "" && end < start:
		return ByteRange{}, 200 // invalid, RFC 9110 14.1.1: ignore
	case start >= size:
		return ByteRange{}, 416
	case last == "" || end >= size:
		end = size - 1
	}
	return ByteRange{Start: start, Length: end - start + 1}, 206
}

// singleSpec returns the only non-empty member of a range-set (empty members are legal list
// syntax, RFC 9110 5.6.1); ok is false for none or several.
func singleSpec(set string) (string, bool) {
	var spec string
	n := 0
	for set != "" {
		var m string
		m, set, _ = strings.Cut(set, ",")
		if m = trimOWS(m); m != "" {
			spec = m
			n++
		}
	}
	return spec, n == 1
}

// suffixRange is "bytes=-N": the last N bytes. A zero suffix or an empty representation cannot be
// satisfied.
func suffixRange(last string, size int64) (ByteRange, int) {
	n, ok := parsePos(last)
	switch {
	case !ok:
		return ByteRange{}, 200
	case n == 0 || size == 0:
		return ByteRange{}, 416
	}
	n = min(n, size)
	return ByteRange{Start: size - n, Length: n}, 206
}

// parsePos parses 1*DIGIT, saturating at MaxInt64 so that a huge last-pos still clamps to the
// end of the representation instead of making the header "malformed".
func parsePos(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// IfRangeAllows reports whether a Range may be honoured given If-Range (RFC 9110 13.1.5): an
// entity-tag must match strongly (a weak tag never does), a date must equal Last-Modified exactly.
// An empty header allows the range; anything unparsable refuses it, so the whole representation
// is sent, which is always safe.
func IfRangeAllows(ifRange string, v Validators) bool {
	ifRange = trimOWS(ifRange)
	if ifRange == "" {
		return true
	}
	if tag, rest, ok := scanETag(ifRange); ok {
		return rest == "" && strongMatch(tag, v.ETag)
	}
	if strings.HasPrefix(ifRange, "W/") || ifRange[0] == '"' {
		return false
	}
	t, err := http.ParseTime(ifRange)
	return err == nil && !v.LastModified.IsZero() && t.Equal(v.LastModified)
}

// ContentRange formats the Content-Range of a 206: "bytes 0-99/1000".
func ContentRange(r ByteRange, size int64) string {
	b := make([]byte, 0, 48)
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, r.Start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.Start+r.Length-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return string(b)
}

// UnsatisfiedRange formats the Content-Range of a 416: "bytes */1000".
func UnsatisfiedRange(size int64) string {
	return "bytes */" + strconv.FormatInt(size, 10)
}
