package h1

import "strings"

// The lexical rules of RFC 9110 the server needs. They mirror
// golang.org/x/net/http/httpguts (which net/http vendors), whose module
// would pull x/text into the build for IDNA the server never uses.

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// tchar is RFC 9110 §5.6.2's token alphabet.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// isFieldValue accepts field-content: visible ASCII, obs-text, SP, HTAB.
func isFieldValue(v string) bool {
	for i := range len(v) {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// hostByte is httpguts' lenient alphabet for a Host header: any byte of
// uri-host or port.
var hostByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

func isHost(h string) bool {
	for i := range len(h) {
		if !hostByte[h[i]] {
			return false
		}
	}
	return true
}

// hasToken reports whether a comma-separated list field holds token, in
// any case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(trimOWS(elem), token) {
				return true
			}
		}
	}
	return false
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isTarget accepts visible ASCII only: no controls, spaces or raw bytes
// above 0x7e, which RFC 3986 does not allow and which would give one URL
// several spellings in the cache key.
func isTarget(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
