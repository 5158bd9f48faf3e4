package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// Directives is a parsed Cache-Control (or CDN-Cache-Control) field. Unknown directives are
// ignored. A malformed value for max-age or s-maxage makes that directive present with value 0,
// because RFC 9111 4.2.1 encourages treating invalid freshness information as stale; a malformed
// stale-while-revalidate or stale-if-error is absent, because granting staleness on a typo would
// be the unsafe reading.
//
// Private and NoCache are set only by the unqualified forms; the qualified forms
// (private="Set-Cookie", no-cache="Set-Cookie") fill PrivateFields and NoCacheFields instead,
// since RFC 9111 5.2.2.4 and 5.2.2.7 give them a much weaker meaning: drop those fields, keep the
// response.
type Directives struct {
	MaxAge, SMaxAge                    time.Duration
	HasMaxAge, HasSMaxAge              bool
	StaleWhileRevalidate, StaleIfError time.Duration
	HasSWR, HasSIE                     bool

	NoStore, NoCache, Private, Public, MustRevalidate, ProxyRevalidate, Immutable, NoTransform, OnlyIfCached bool

	NoCacheFields, PrivateFields []string // canonical field names from the qualified forms
}

// maxDeltaSeconds is the value RFC 9111 1.2.2 tells a cache to use for a delta-seconds that
// overflows: 2^31 seconds.
const maxDeltaSeconds = 1 << 31

// ParseCacheControl parses all field lines of a Cache-Control (or CDN-Cache-Control) header.
// Directive names are case-insensitive; arguments may be tokens or quoted strings (RFC 9111 5.2
// asks recipients to accept both), commas inside quotes do not split, empty list elements are
// skipped, and for a directive given twice the first value wins (RFC 9111 4.2.1). Numbers past
// 2^31 seconds saturate. It allocates only for the qualified no-cache/private field lists and for
// quoted arguments with backslash escapes.
func ParseCacheControl(values []string) Directives {
	d, _ := parseDirectives(values)
	return d
}

// parseDirectives also counts the syntactically valid directives, known or not, so Evaluate can
// tell a CDN-Cache-Control that speaks from one that is empty or garbage (RFC 9213 2.2 falls back
// to Cache-Control only when the targeted field has no valid content).
func parseDirectives(values []string) (d Directives, n int) {
	var seen uint8
	for _, line := range values {
		for line != "" {
			var dir directive
			var ok bool
			dir, ok, line = nextDirective(line)
			if !ok {
				continue
			}
			n++
			d.apply(dir, &seen)
		}
	}
	return d, n
}

// directive is one list member: a name and its argument, as found.
type directive struct {
	name, value string
	hasValue    bool
	badValue    bool // unterminated quoted string or junk after the argument
}

// nextDirective scans one list member off s and returns the rest after its comma. ok is false
// for empty members and for names that are not tokens.
func nextDirective(s string) (dir directive, ok bool, rest string) {
	s = trimOWSLeft(s)
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ',' {
		i++
	}
	name := trimOWSRight(s[:i])
	s = s[i:]
	if s != "" && s[0] == '=' {
		dir.hasValue = true
		dir.value, dir.badValue, s = scanArgument(trimOWSLeft(s[1:]))
	}
	if c := strings.IndexByte(s, ','); c >= 0 {
		dir.badValue = dir.badValue || trimOWSRight(s[:c]) != ""
		s = s[c+1:]
	} else {
		dir.badValue = dir.badValue || trimOWSRight(s) != ""
		s = ""
	}
	if name == "" || !isToken(name) {
		return directive{}, false, s
	}
	dir.name = name
	return dir, true, s
}

// scanArgument reads a token or quoted-string argument and returns what follows it.
func scanArgument(s string) (value string, bad bool, rest string) {
	if s == "" || s[0] != '"' {
		i := 0
		for i < len(s) && s[i] != ',' && s[i] != ' ' && s[i] != '\t' {
			i++
		}
		return s[:i], false, s[i:]
	}
	escaped := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if escaped {
				return unquote(s[1:i]), false, s[i+1:]
			}
			return s[1:i], false, s[i+1:]
		}
	}
	return "", true, ""
}

// unquote removes quoted-pair backslashes; only called when there is one.
func unquote(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Bits of the seen set: directives whose first value wins.
const (
	seenMaxAge uint8 = 1 << iota
	seenSMaxAge
	seenSWR
	seenSIE
)

func (d *Directives) apply(dir directive, seen *uint8) {
	var buf [32]byte
	if len(dir.name) > len(buf) {
		return // longer than any directive we know
	}
	name := buf[:len(dir.name)]
	for i := range len(dir.name) {
		name[i] = lower(dir.name[i])
	}
	switch string(name) {
	case "max-age":
		d.MaxAge, d.HasMaxAge = firstFreshness(dir, seen, seenMaxAge, d.MaxAge, d.HasMaxAge)
	case "s-maxage":
		d.SMaxAge, d.HasSMaxAge = firstFreshness(dir, seen, seenSMaxAge, d.SMaxAge, d.HasSMaxAge)
	case "stale-while-revalidate":
		d.StaleWhileRevalidate, d.HasSWR = firstStale(dir, seen, seenSWR, d.StaleWhileRevalidate, d.HasSWR)
	case "stale-if-error":
		d.StaleIfError, d.HasSIE = firstStale(dir, seen, seenSIE, d.StaleIfError, d.HasSIE)
	case "no-cache":
		d.NoCache, d.NoCacheFields = qualified(dir, d.NoCache, d.NoCacheFields)
	case "private":
		d.Private, d.PrivateFields = qualified(dir, d.Private, d.PrivateFields)
	default:
		d.applyFlag(string(name), dir)
	}
}

// applyFlag sets the argument-less directives. A Structured Fields false (`no-store=?0`, possible
// in CDN-Cache-Control, RFC 9213 2.1) leaves the flag alone.
func (d *Directives) applyFlag(name string, dir directive) {
	if dir.hasValue && dir.value == "?0" {
		return
	}
	switch name {
	case "no-store":
		d.NoStore = true
	case "public":
		d.Public = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "immutable":
		d.Immutable = true
	case "no-transform":
		d.NoTransform = true
	case "only-if-cached":
		d.OnlyIfCached = true
	}
}

// firstFreshness handles max-age and s-maxage: the first occurrence wins, and a malformed one
// counts as present with 0 (stale).
func firstFreshness(dir directive, seen *uint8, bit uint8, cur time.Duration, has bool) (time.Duration, bool) {
	if *seen&bit != 0 {
		return cur, has
	}
	*seen |= bit
	v, ok := deltaSeconds(dir)
	if !ok {
		return 0, true
	}
	return v, true
}

// firstStale handles stale-while-revalidate and stale-if-error: the first occurrence wins, and a
// malformed one counts as absent.
func firstStale(dir directive, seen *uint8, bit uint8, cur time.Duration, has bool) (time.Duration, bool) {
	if *seen&bit != 0 {
		return cur, has
	}
	*seen |= bit
	v, ok := deltaSeconds(dir)
	if !ok {
		return 0, false
	}
	return v, true
}

// qualified handles no-cache and private: without an argument the directive applies to the whole
// response; with one it lists field names.
func qualified(dir directive, flag bool, fields []string) (bool, []string) {
	if !dir.hasValue || dir.badValue {
		return true, fields // a mangled list is read as the stricter unqualified form
	}
	if dir.value == "?0" {
		return flag, fields
	}
	list := dir.value
	for list != "" {
		var f string
		f, list, _ = strings.Cut(list, ",")
		if f = trimOWS(f); f != "" && isToken(f) {
			fields = append(fields, http.CanonicalHeaderKey(f))
		}
	}
	return flag, fields
}

// deltaSeconds parses a delta-seconds argument (RFC 9111 1.2.2), saturating at 2^31.
func deltaSeconds(dir directive) (time.Duration, bool) {
	if !dir.hasValue || dir.badValue {
		return 0, false
	}
	return parseDelta(dir.value)
}

func parseDelta(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDeltaSeconds {
			n = n*10 + int64(c-'0')
		}
	}
	n = min(n, maxDeltaSeconds)
	return time.Duration(n) * time.Second, true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWSLeft(s string) string {
	for s != "" && isOWS(s[0]) {
		s = s[1:]
	}
	return s
}

func trimOWSRight(s string) string {
	for s != "" && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func trimOWS(s string) string { return trimOWSRight(trimOWSLeft(s)) }

// isToken reports whether s is an RFC 9110 5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool { return tchars[c] }

// tchars is RFC 9110 5.6.2's tchar set as a table: the parsers test every byte against it.
var tchars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()
