package h1

import (
	"net/url"
	"strings"
)

// pathByte marks the bytes url.ParseRequestURI keeps as they are in a path
// (Path equal to the raw path, RawPath empty). A target made of these only
// is converted without calling net/url, which allocates a URL.
var pathByte = func() (t [256]bool) {
	for _, c := range []byte("$&+,-./:;=@_~") {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	return t
}()

// parseTarget fills u from a request-target the way net/http's server does
// (url.ParseRequestURI), and returns the authority of an absolute-form
// target, which replaces the Host header (RFC 9112 §3.2.2).
func parseTarget(method, target string, u *url.URL) (authority string, err *statusError) {
	*u = url.URL{}
	switch {
	case target[0] == '/':
		if simpleOriginForm(target, u) {
			return "", nil
		}
		return "", parseWithURL(target, u)
	case target == "*":
		if method != "OPTIONS" {
			return "", errTarget
		}
		u.Path = "*"
		return "", nil
	case hasHTTPScheme(target):
		if err := parseWithURL(target, u); err != nil {
			return "", err
		}
		if u.Host == "" {
			return "", errTarget
		}
		return u.Host, nil
	}
	return "", errTarget
}

func simpleOriginForm(target string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	for i := range len(path) {
		if !pathByte[path[i]] {
			return false
		}
	}
	u.Path, u.RawQuery = path, query
	u.ForceQuery = hasQuery && query == ""
	return true
}

func parseWithURL(target string, u *url.URL) *statusError {
	pu, err := url.ParseRequestURI(target)
	if err != nil {
		return errTarget
	}
	*u = *pu
	return nil
}

func hasHTTPScheme(t string) bool {
	return len(t) > 7 && strings.EqualFold(t[:7], "http://") ||
		len(t) > 8 && strings.EqualFold(t[:8], "https://")
}
