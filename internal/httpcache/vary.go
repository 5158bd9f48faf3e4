package httpcache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// VaryFields returns the request fields a response varies on (RFC 9111 4.1), in
// http.CanonicalHeaderKey form, sorted and deduplicated so that equal Vary headers written in
// different orders or cases give equal lists. star reports Vary: *, which never matches.
func VaryFields(respHeader http.Header) (fields []string, star bool) {
	for _, line := range respHeader["Vary"] {
		for line != "" {
			var f string
			f, line, _ = strings.Cut(line, ",")
			switch f = trimOWS(f); {
			case f == "*":
				star = true
			case isToken(f):
				fields = append(fields, http.CanonicalHeaderKey(f))
			}
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields), star
}

// VaryKey is a stable string of the request's values for fields, in the order given (use
// VaryFields' order). Each field's lines are combined with ", " and whitespace is normalised
// (runs of spaces and tabs become one space, none at the ends or around commas outside quoted
// strings), which RFC 9111 4.1 allows. A field absent from the request gives a different key from
// one present but empty. Names and values are quoted, so no value can forge a separator.
func VaryKey(fields []string, reqHeader http.Header) string {
	var b []byte
	for i, f := range fields {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendQuote(b, f)
		lines, ok := reqHeader[http.CanonicalHeaderKey(f)]
		if !ok {
			b = append(b, '!')
			continue
		}
		b = append(b, '=')
		b = strconv.AppendQuote(b, normaliseValue(lines))
	}
	return string(b)
}

// normaliseValue joins field lines with ", " and collapses whitespace outside quoted strings.
func normaliseValue(lines []string) string {
	var b []byte
	for _, line := range lines {
		if line = trimOWS(line); line == "" {
			continue
		}
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = appendCollapsed(b, line)
	}
	return string(b)
}

// appendCollapsed copies s, turning each OWS run into one space, dropping OWS before a comma and
// writing exactly one space after it; quoted strings are copied untouched.
func appendCollapsed(b []byte, s string) []byte {
	inQuote, space := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			b = append(b, c)
			if c == '\\' && i+1 < len(s) {
				i++
				b = append(b, s[i])
			} else if c == '"' {
				inQuote = false
			}
			continue
		case isOWS(c):
			space = true
			continue
		case c == ',':
			b = append(b, ',')
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		inQuote = c == '"'
		b = append(b, c)
	}
	return b
}
