package edge

import (
	"net/http"
	"testing"

	"github.com/pixcdn/pixcdn/internal/config"
)

// keyerFor is the keyer of a domain named name with a query policy.
func keyerFor(name, mode string, params []string, sort bool) keyer {
	return newKeyer(&config.Domain{Name: name, Cache: config.DomainCache{Query: config.QueryKey{Mode: mode, Params: params, Sort: &sort}}})
}

func TestKeyer(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		params []string
		sort   bool
		path   string
		query  string
		want   string
	}{
		{"", nil, true, "/a", "", "h/a"},
		{"keep_all", nil, true, "/a", "b=2&a=1", "h/a?a=1&b=2"},
		{"keep_all", nil, false, "/a", "b=2&a=1", "h/a?b=2&a=1"},
		{"drop_all", nil, true, "/a", "b=2&a=1", "h/a"},
		{"keep", []string{"w", "h"}, true, "/i.jpg", "utm=x&w=300&h=200", "h/i.jpg?h=200&w=300"},
		{"keep", []string{"w"}, true, "/i.jpg", "utm=x", "h/i.jpg"},
		{"drop", []string{"utm_source"}, true, "/p", "utm_source=a&id=7", "h/p?id=7"},
		{"drop", []string{"a b"}, true, "/p", "a+b=1&a%20b=2&c=3", "h/p?c=3"},
		{"keep_all", nil, true, "/p", "a=1&&b=2&", "h/p?a=1&b=2"},
	} {
		k := keyerFor("h", tc.mode, tc.params, tc.sort)
		if got := k.key("H:8080", tc.path, tc.query, nil); got != tc.want {
			t.Errorf("%s %v %q: key %q, want %q", tc.mode, tc.params, tc.query, got, tc.want)
		}
	}
}

// TestKeyerHost: the host in the key and the Host the origin is sent always agree.
func TestKeyerHost(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		aliases []string
		keyHost *bool
		reqHost string
		key     string
		sent    string // Host for the origin; "" = the origin server's own
	}{
		{"img.example.com", nil, nil, "IMG.example.com:6666", "img.example.com/a", "img.example.com"},
		{"img.example.com", []string{"static.example.com"}, nil, "static.example.com", "img.example.com/a", "img.example.com"},
		{"img.example.com", []string{"static.example.com"}, &yes, "Static.Example.com.", "static.example.com/a", "static.example.com"},
		{"*.example.com", nil, nil, "A.example.com:81", "a.example.com/a", "a.example.com"},
		{"*.example.com", nil, &no, "a.example.com", "*.example.com/a", ""},
		{"img.example.com", []string{"*.img.example.com"}, nil, "x.img.example.com", "x.img.example.com/a", "x.img.example.com"},
		{"*", nil, nil, "evil.example:1", "*/a", ""},
		{"*", nil, &yes, "Evil.example:1", "evil.example/a", "evil.example"},
	} {
		k := newKeyer(&config.Domain{Name: tc.name, Aliases: tc.aliases, Cache: config.DomainCache{KeyHost: tc.keyHost}})
		if got := k.key(tc.reqHost, "/a", "", nil); got != tc.key {
			t.Errorf("%s %v key_host=%v, Host %q: key %q, want %q", tc.name, tc.aliases, tc.keyHost, tc.reqHost, got, tc.key)
		}
		if got := k.upstreamHost(tc.reqHost); got != tc.sent {
			t.Errorf("%s %v key_host=%v, Host %q: origin sent Host %q, want %q", tc.name, tc.aliases, tc.keyHost, tc.reqHost, got, tc.sent)
		}
	}
}

func TestKeyerHeaders(t *testing.T) {
	k := newKeyer(&config.Domain{Name: "h", Cache: config.DomainCache{KeyHeaders: []string{"X-Original-Url", "X-Device"}}})
	a := k.key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/admin"}})
	b := k.key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/other"}})
	c := k.key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/admin"}, "X-Device": {""}})
	none := k.key("h", "/p", "q=1", nil)
	if a == b || a == c || a == none || c == none {
		t.Fatalf("keys do not tell the fields apart: %q %q %q %q", a, b, c, none)
	}
	for _, key := range []string{a, b, c, none} {
		if urlPart(key) != "h/p?q=1" || urlPart(key) != k.urlKey("h", "/p", "q=1") {
			t.Fatalf("url part of %q is %q", key, urlPart(key))
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := &meta{kind: kindObject, status: 404, mustReval: true, requestTime: 1, responseTime: 2, initialAge: 3,
		ttl: 4, swr: 5, sie: 6, varyFields: []string{"Accept"}, header: map[string][]string{"A": {"1", "2"}}}
	got, err := decodeMeta(m.encode())
	if err != nil || got.status != 404 || !got.mustReval || got.ttl != 4 || got.header["A"][1] != "2" || got.varyFields[0] != "Accept" {
		t.Fatalf("%v %+v", err, got)
	}
	b := m.encode()
	for i := range b { // every truncation is an error, never a panic
		if _, err := decodeMeta(b[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add((&meta{kind: kindVary, varyFields: []string{"Accept-Encoding"}}).encode())
	f.Add((&meta{kind: kindObject, status: 200, header: map[string][]string{"Content-Type": {"text/css"}}}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := decodeMeta(m.encode())
		if err != nil || again.status != m.status || again.kind != m.kind || len(again.header) != len(m.header) {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
