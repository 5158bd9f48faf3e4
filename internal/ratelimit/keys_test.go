package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func TestRequestKeySource(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/p?a=1&token=t%2F1&b=&token=second&plus=a+b", nil)
	req.RemoteAddr = "[2001:db8::1]:4321"
	req.Header.Set("x-api-key", "k1")
	ks := Request{R: req}
	checks := []struct{ got, want string }{
		{ks.ClientIP(), "2001:db8::1"},
		{ks.Header("X-Api-Key"), "k1"},
		{ks.Header("X-Missing"), ""},
		{ks.Query("a"), "1"},
		{ks.Query("token"), "t/1"}, // first value, unescaped
		{ks.Query("b"), ""},
		{ks.Query("plus"), "a b"},
		{ks.Query("missing"), ""},
		{ks.Query("toke"), ""},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	req.RemoteAddr = "unix"
	if got := ks.ClientIP(); got != "unix" {
		t.Errorf("RemoteAddr without port: ClientIP %q", got)
	}
}

// Through Allow: a rule on header:x-api-key (any case in the config) keys real requests.
func TestRequestThroughAllow(t *testing.T) {
	l := newLimiter(t, 0, Rule{Name: "k", Key: "header:x-api-key", Requests: 1, Interval: time.Hour})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Api-Key", "k1")
	if ok, _, rule := l.Allow("/", Request{R: req}, t0); !ok || rule != "k" {
		t.Fatalf("first: %v %q", ok, rule)
	}
	if ok, _, _ := l.Allow("/", Request{R: req}, t0); ok {
		t.Fatal("second with the same header value allowed")
	}
}

// queryValue agrees with url.ParseQuery on the first value of every parameter it parses.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "a=%41&a=2", "a+b=c", "a=b+c", "=x&a", "a=%zz", "a=1;b=2", "&&a=&"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, q, name string) {
		got := queryValue(q, name)
		vals, err := url.ParseQuery(q)
		if err != nil {
			return // ParseQuery gives up on the whole query; queryValue is per parameter
		}
		if want := vals.Get(name); got != want && !escapedName(q, name) {
			t.Fatalf("queryValue(%q, %q) = %q, url.ParseQuery says %q", q, name, got, want)
		}
	})
}

// escapedName reports whether some parameter name in q is written escaped: queryValue compares
// names as written, ParseQuery unescaped.
func escapedName(q, name string) bool {
	for q != "" {
		var pair string
		pair, q, _ = cutAmp(q)
		k := pair
		for i := 0; i < len(pair); i++ {
			if pair[i] == '=' {
				k = pair[:i]
				break
			}
		}
		if u, err := url.QueryUnescape(k); err == nil && u != k {
			return true
		}
	}
	return false
}

func cutAmp(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '&' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"ip", "header:X-Api-Key", "query:token", "header:", "cookie:a", "header:a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		kind, name, err := parseKey(key)
		if err != nil {
			return
		}
		switch kind {
		case keyIP:
			if key != "ip" || name != "" {
				t.Fatalf("%q parsed as ip", key)
			}
		case keyHeader, keyQuery:
			if name == "" {
				t.Fatalf("%q: empty name accepted", key)
			}
		}
	})
}
