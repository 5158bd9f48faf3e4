package httpcache

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestInvalidatesOn(t *testing.T) {
	tests := []struct {
		method string
		status int
		want   bool
	}{
		{"POST", 200, true}, {"PUT", 204, true}, {"DELETE", 301, true}, {"PATCH", 399, true},
		{"POST", 404, false}, {"POST", 500, false}, {"POST", 100, false},
		{"GET", 200, false}, {"HEAD", 200, false}, {"OPTIONS", 200, false}, {"TRACE", 200, false},
		{"get", 200, true}, // RFC 9110 9.1: methods are case-sensitive; "get" is not safe
	}
	for _, tt := range tests {
		if got := InvalidatesOn(tt.method, tt.status); got != tt.want {
			t.Errorf("RFC9111-4.4 InvalidatesOn(%s, %d) = %v, want %v", tt.method, tt.status, got, tt.want)
		}
	}
}

func TestInvalidationTargets(t *testing.T) {
	tests := []struct {
		name string
		host string
		url  string
		resp http.Header
		want []string
	}{
		{"target only", "example.com", "/a/b?x=1", hdr(), []string{"/a/b?x=1"}},
		{"RFC9111-4.4 relative Location", "example.com", "/a/b", hdr("Location", "/c", "Content-Location", "d"),
			[]string{"/a/b", "/c", "/a/d"}},
		{"RFC9111-4.4 absolute same host", "Example.com", "/a", hdr("Location", "http://example.COM/c?q=1"),
			[]string{"/a", "/c?q=1"}},
		{"RFC9111-4.4 default port equals none", "example.com:80", "/a", hdr("Location", "http://example.com/c"),
			[]string{"/a", "/c"}},
		{"RFC9111-4.4 other host ignored", "example.com", "/a", hdr("Location", "http://evil.example/c", "Content-Location", "//other.example/d"),
			[]string{"/a"}},
		{"RFC9111-4.4 other port ignored", "example.com", "/a", hdr("Location", "http://example.com:8080/c"),
			[]string{"/a"}},
		{"duplicates dropped", "example.com", "/a", hdr("Location", "/a", "Content-Location", "/a"), []string{"/a"}},
		{"escaped path kept", "example.com", "/a%2Fb", hdr("Location", "/c%20d"), []string{"/a%2Fb", "/c%20d"}},
		{"unparsable ignored", "example.com", "/a", hdr("Location", "http://[::1"), []string{"/a"}},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := InvalidationTargets(tt.host, u, tt.resp); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: InvalidationTargets = %q, want %q", tt.name, got, tt.want)
		}
	}
	u := &url.URL{Scheme: "https", Host: "example.com", Path: "/a"}
	if got := InvalidationTargets("example.com", u, hdr("Location", "http://example.com/b")); !reflect.DeepEqual(got, []string{"/a"}) {
		t.Errorf("other scheme: InvalidationTargets = %q, want only the target", got)
	}
}
