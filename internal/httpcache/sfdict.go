package httpcache

import "strings"

// validCDNCacheControl reports whether the field lines of a CDN-Cache-Control parse as one
// Structured Field dictionary (RFC 9213 2.1 over RFC 8941 4.2.2) whose freshness directives
// are integers. A field that does not is ignored whole (RFC 8941 4.2: a parse failure discards
// the field), and Cache-Control decides.
func validCDNCacheControl(lines []string) bool {
	v := strings.Join(lines, ",")
	i := skipSP(v, 0)
	if i == len(v) {
		return false // empty: nothing to use
	}
	for {
		key, j, ok := sfKey(v, i)
		if !ok {
			return false
		}
		i = j
		if i < len(v) && v[i] == '=' {
			var isInt bool
			if i, isInt, ok = sfBareItem(v, i+1); !ok {
				return false
			}
			if numericDirective(key) && !isInt {
				return false // max-age="10000": the wrong type
			}
		}
		for i < len(v) && v[i] == ';' { // parameters
			if _, i, ok = sfKey(v, skipSP(v, i+1)); !ok {
				return false
			}
			if i < len(v) && v[i] == '=' {
				if i, _, ok = sfBareItem(v, i+1); !ok {
					return false
				}
			}
		}
		i = skipOWSAt(v, i)
		if i == len(v) {
			return true
		}
		if v[i] != ',' {
			return false
		}
		if i = skipOWSAt(v, i+1); i == len(v) {
			return false // a trailing comma
		}
	}
}

// numericDirective names the directives whose value is a number of seconds.
func numericDirective(key string) bool {
	switch key {
	case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
		return true
	}
	return false
}

// sfKey reads a key: lcalpha or "*", then lcalpha, digits, "_", "-", ".", "*".
func sfKey(v string, i int) (string, int, bool) {
	start := i
	if i >= len(v) || !(v[i] >= 'a' && v[i] <= 'z' || v[i] == '*') {
		return "", i, false
	}
	for i++; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
	}
	return v[start:i], i, true
}

// sfBareItem reads an integer or decimal, a string, a token or a boolean; isInt is set for an
// integer. Byte sequences and inner lists have no use in this field and are refused.
func sfBareItem(v string, i int) (int, bool, bool) {
	if i >= len(v) {
		return i, false, false
	}
	switch c := v[i]; {
	case c == '-' || c >= '0' && c <= '9':
		j := i
		if c == '-' {
			j++
		}
		digits, dot := 0, false
		for ; j < len(v); j++ {
			if v[j] >= '0' && v[j] <= '9' {
				digits++
			} else if v[j] == '.' && !dot {
				dot = true
			} else {
				break
			}
		}
		if digits == 0 || digits > 15 {
			return j, false, false
		}
		return j, !dot, true
	case c == '"':
		for j := i + 1; j < len(v); j++ {
			switch {
			case v[j] == '\\':
				if j+1 >= len(v) || v[j+1] != '"' && v[j+1] != '\\' {
					return j, false, false
				}
				j++
			case v[j] == '"':
				return j + 1, false, true
			case v[j] < 0x20 || v[j] > 0x7e:
				return j, false, false
			}
		}
		return len(v), false, false
	case c == '?':
		if i+1 < len(v) && (v[i+1] == '0' || v[i+1] == '1') {
			return i + 2, false, true
		}
		return i, false, false
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		j := i + 1
		for ; j < len(v) && (isTchar(v[j]) || v[j] == ':' || v[j] == '/'); j++ {
		}
		return j, false, true
	}
	return i, false, false
}

func skipSP(v string, i int) int {
	for i < len(v) && v[i] == ' ' {
		i++
	}
	return i
}

func skipOWSAt(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}
