package objcache

import (
	"net/http"
	"testing"

	"github.com/pixcdn/pixcdn/internal/config"
)

// keyerFor is the keyer of a domain named name with a query policy.
func keyerFor(name, mode string, params []string, sort bool) Keyer {
	return NewKeyer(KeyConfig{Name: name, QueryMode: mode, Params: params, SortParams: sort})
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
		if got := k.Key("H:8080", tc.path, tc.query, nil); got != tc.want {
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
		dc := &config.Domain{Name: tc.name, Aliases: tc.aliases, Cache: config.DomainCache{KeyHost: tc.keyHost}}
		k := NewKeyer(KeyConfig{Name: dc.Name, ByHost: dc.KeysHost()})
		if got := k.Key(tc.reqHost, "/a", "", nil); got != tc.key {
			t.Errorf("%s %v key_host=%v, Host %q: key %q, want %q", tc.name, tc.aliases, tc.keyHost, tc.reqHost, got, tc.key)
		}
		if got := k.UpstreamHost(tc.reqHost); got != tc.sent {
			t.Errorf("%s %v key_host=%v, Host %q: origin sent Host %q, want %q", tc.name, tc.aliases, tc.keyHost, tc.reqHost, got, tc.sent)
		}
	}
}

func TestKeyerHeaders(t *testing.T) {
	k := NewKeyer(KeyConfig{Name: "h", Headers: []string{"X-Original-Url", "X-Device"}})
	a := k.Key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/admin"}})
	b := k.Key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/other"}})
	c := k.Key("h", "/p", "q=1", http.Header{"X-Original-Url": {"/admin"}, "X-Device": {""}})
	none := k.Key("h", "/p", "q=1", nil)
	if a == b || a == c || a == none || c == none {
		t.Fatalf("keys do not tell the fields apart: %q %q %q %q", a, b, c, none)
	}
	for _, key := range []string{a, b, c, none} {
		if urlPart(key) != "h/p?q=1" || urlPart(key) != k.URLKey("h", "/p", "q=1") {
			t.Fatalf("url part of %q is %q", key, urlPart(key))
		}
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := &Meta{Kind: RecordObject, Status: 404, MustRevalidate: true, RequestTime: 1, ResponseTime: 2, InitialAge: 3,
		TTL: 4, SWR: 5, SIE: 6, VaryFields: []string{"Accept"}, Header: map[string][]string{"A": {"1", "2"}}}
	got, err := DecodeMeta(m.Encode())
	if err != nil || got.Status != 404 || !got.MustRevalidate || got.TTL != 4 || got.Header["A"][1] != "2" || got.VaryFields[0] != "Accept" {
		t.Fatalf("%v %+v", err, got)
	}
	b := m.Encode()
	for i := range b { // every truncation is an error, never a panic
		if _, err := DecodeMeta(b[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add((&Meta{Kind: RecordVary, VaryFields: []string{"Accept-Encoding"}}).Encode())
	f.Add((&Meta{Kind: RecordObject, Status: 200, Header: map[string][]string{"Content-Type": {"text/css"}}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		again, err := DecodeMeta(m.Encode())
		if err != nil || again.Status != m.Status || again.Kind != m.Kind || len(again.Header) != len(m.Header) {
			t.Fatalf("re-encoding changed the record: %v", err)
		}
	})
}
