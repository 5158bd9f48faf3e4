package httpcache

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// InvalidatesOn reports whether a response to method with status invalidates stored responses
// (RFC 9111 4.4): an unsafe method (anything but GET, HEAD, OPTIONS, TRACE; methods are
// case-sensitive) that got a non-error, 2xx or 3xx, answer.
func InvalidatesOn(method string, status int) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return status >= 200 && status < 400
}

// InvalidationTargets returns what to invalidate after InvalidatesOn: the target URI, and the
// Location and Content-Location URIs when they have the same host as the request (RFC 9111 4.4
// forbids the others, so that one origin cannot purge another's content). reqHost is the
// request's Host; relative references resolve against reqURL. Each target is written as the
// escaped path plus "?" and the raw query when there is one, like url.URL.RequestURI; duplicates
// are dropped.
func InvalidationTargets(reqHost string, reqURL *url.URL, respHeader http.Header) []string {
	if reqURL == nil {
		return nil
	}
	targets := []string{pathAndQuery(reqURL)}
	base := *reqURL
	base.Host = reqHost
	for _, field := range [...]string{"Location", "Content-Location"} {
		v := trimOWS(respHeader.Get(field))
		if v == "" {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			continue
		}
		u := base.ResolveReference(ref)
		if !sameHost(u, reqHost, reqURL.Scheme) {
			continue
		}
		if t := pathAndQuery(u); !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	return targets
}

func pathAndQuery(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// sameHost compares u's authority with the request's Host, case-insensitively, with an omitted
// port equal to the scheme's default. A scheme-relative or absolute URI must name the host; a
// different scheme is a different origin.
func sameHost(u *url.URL, reqHost, reqScheme string) bool {
	if u.Scheme != "" && reqScheme != "" && !strings.EqualFold(u.Scheme, reqScheme) {
		return false
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = reqScheme
	}
	h1, p1 := splitHostPort(u.Host)
	h2, p2 := splitHostPort(reqHost)
	return h1 != "" && strings.EqualFold(strings.TrimSuffix(h1, "."), strings.TrimSuffix(h2, ".")) && portsEqual(p1, p2, scheme)
}

func splitHostPort(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.Trim(hostport, "[]"), ""
}

// portsEqual treats a missing port as the scheme's default; with no scheme known, 80 and 443 both
// count as default.
func portsEqual(a, b, scheme string) bool {
	if a == b {
		return true
	}
	isDefault := func(p string) bool {
		switch strings.ToLower(scheme) {
		case "http":
			return p == "" || p == "80"
		case "https":
			return p == "" || p == "443"
		}
		return p == "" || p == "80" || p == "443"
	}
	return isDefault(a) && isDefault(b) && (a == "" || b == "")
}
