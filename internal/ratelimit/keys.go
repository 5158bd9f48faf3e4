package ratelimit

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// KeySource supplies the request values a rule can be keyed on; "" means absent, and a rule
// whose key is absent does not apply. Allow calls at most one method per matching rule, from
// the calling goroutine only, and keeps no reference to the strings. For Allow to stay free of
// allocations the implementation must not allocate either, and should be a pointer (a pointer
// in an interface costs nothing; a larger value is boxed on the heap).
type KeySource interface {
	ClientIP() string
	// Header returns the first value of the header; name is in canonical form (textproto).
	Header(name string) string
	// Query returns the first value of the query parameter, unescaped.
	Query(name string) string
}

// Request adapts an *http.Request: pass ratelimit.Request{R: r}. A struct of one pointer is
// stored in an interface without boxing, so the adapter costs no allocation. Its client IP is
// the host of RemoteAddr; an edge that trusts X-Forwarded-For from its proxies implements
// KeySource on its own request state instead.
type Request struct{ R *http.Request }

var _ KeySource = Request{}

// ClientIP returns the host part of RemoteAddr (RemoteAddr itself if it has no port).
func (r Request) ClientIP() string {
	if host, _, err := net.SplitHostPort(r.R.RemoteAddr); err == nil {
		return host
	}
	return r.R.RemoteAddr
}

// Header returns the first value of the canonical header name.
func (r Request) Header(name string) string {
	if v := r.R.Header[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Query returns the first value of the parameter, found by scanning RawQuery rather than
// parsing it (url.Values would allocate a map per request). Names are compared as written in
// the URL, unescaped bytes; values are unescaped only when they contain '%' or '+'.
func (r Request) Query(name string) string {
	if r.R.URL == nil {
		return ""
	}
	return queryValue(r.R.URL.RawQuery, name)
}

// queryValue returns the first value of name in the raw query q; "" when absent, empty or
// badly escaped.
func queryValue(q, name string) string {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			u, err := url.QueryUnescape(v)
			if err != nil {
				return ""
			}
			return u
		}
		return v
	}
	return ""
}
