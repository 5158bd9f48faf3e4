package edge

import "testing"

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
		k := newKeyer("h", tc.mode, tc.params, tc.sort)
		if got := k.key(tc.path, tc.query); got != tc.want {
			t.Errorf("%s %v %q: key %q, want %q", tc.mode, tc.params, tc.query, got, tc.want)
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
