package httpcache

import "strings"

// HintLinks returns the link-values of Link fields (RFC 8288) that browsers act on in a 103
// Early Hints response (RFC 8297): rel preload, modulepreload and preconnect. Each value is
// returned as written, one per element, so a 103 built from them says what the final response
// says. A value that does not parse (no <URI-Reference>, an unclosed quote) is left out.
func HintLinks(fields []string) []string {
	var out []string
	for _, f := range fields {
		for rest := f; rest != ""; {
			var v string
			v, rest = nextLinkValue(rest)
			if v = strings.TrimSpace(v); v != "" && isHintLink(v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// nextLinkValue splits off the first link-value of a Link field: up to a comma that is outside
// the <URI> and outside a quoted string.
func nextLinkValue(s string) (value, rest string) {
	inURI, inQuote := false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case inQuote:
			inQuote = c != '"'
		case inURI:
			inURI = c != '>'
		case c == '<':
			inURI = true
		case c == '"':
			inQuote = true
		case c == ',':
			return s[:i], s[i+1:]
		}
	}
	if inURI || inQuote {
		return "", "" // unterminated: nothing of it is trusted
	}
	return s, ""
}

// isHintLink reports whether a link-value "<uri>; param..." has a rel naming a hint relation.
func isHintLink(v string) bool {
	if v[0] != '<' {
		return false
	}
	end := strings.IndexByte(v, '>')
	if end < 0 {
		return false
	}
	for _, param := range strings.Split(v[end+1:], ";") {
		name, val, ok := strings.Cut(strings.TrimSpace(param), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		// rel is a space-separated list of relation types, quoted or not (RFC 8288 3.3).
		for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
			switch strings.ToLower(rel) {
			case "preload", "modulepreload", "preconnect":
				return true
			}
		}
		return false // only the first rel counts (RFC 8288 3.3)
	}
	return false
}
