package httpcache

import (
	"reflect"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name string
		in   []string
		want Directives
	}{
		{"empty", nil, Directives{}},
		{"RFC9111-5.2.2.1 max-age", []string{"max-age=60"}, Directives{MaxAge: 60 * s, HasMaxAge: true}},
		{"RFC9111-5.2.2.10 s-maxage and public", []string{"public, s-maxage=120"},
			Directives{SMaxAge: 120 * s, HasSMaxAge: true, Public: true}},
		{"RFC9111-5.2 names are case-insensitive", []string{"Max-Age=5, NO-STORE, Public"},
			Directives{MaxAge: 5 * s, HasMaxAge: true, NoStore: true, Public: true}},
		{"RFC9111-5.2 quoted argument accepted", []string{`max-age="30"`}, Directives{MaxAge: 30 * s, HasMaxAge: true}},
		{"RFC9111-5.2 all field lines", []string{"max-age=1", "no-cache, immutable"},
			Directives{MaxAge: s, HasMaxAge: true, NoCache: true, Immutable: true}},
		{"RFC9111-4.2.1 duplicate: first wins", []string{"max-age=10, max-age=20", "max-age=30"},
			Directives{MaxAge: 10 * s, HasMaxAge: true}},
		{"RFC9111-4.2.1 malformed max-age is present with 0", []string{"max-age=abc"}, Directives{HasMaxAge: true}},
		{"RFC9111-4.2.1 max-age without value is 0", []string{"max-age"}, Directives{HasMaxAge: true}},
		{"RFC9111-4.2.1 negative max-age is 0", []string{"max-age=-1"}, Directives{HasMaxAge: true}},
		{"RFC9111-4.2.1 fractional s-maxage is 0", []string{"s-maxage=1.5"}, Directives{HasSMaxAge: true}},
		{"RFC9111-4.2.1 malformed first still wins", []string{"max-age=x, max-age=60"}, Directives{HasMaxAge: true}},
		{"RFC9111-1.2.2 huge saturates at 2^31", []string{"max-age=99999999999999999999999"},
			Directives{MaxAge: (1 << 31) * s, HasMaxAge: true}},
		{"RFC9111-1.2.2 2^31+1 saturates", []string{"s-maxage=2147483649"}, Directives{SMaxAge: (1 << 31) * s, HasSMaxAge: true}},
		{"RFC5861 swr and sie", []string{"max-age=60, stale-while-revalidate=30, stale-if-error=86400"},
			Directives{MaxAge: 60 * s, HasMaxAge: true, StaleWhileRevalidate: 30 * s, HasSWR: true, StaleIfError: 86400 * s, HasSIE: true}},
		{"RFC5861 malformed swr is absent", []string{"stale-while-revalidate=soon, stale-if-error"}, Directives{}},
		{"RFC5861 swr 0 is present", []string{"stale-while-revalidate=0"}, Directives{HasSWR: true}},
		{"RFC9111-5.2.2.4 qualified no-cache lists fields", []string{`no-cache="set-cookie, x-foo"`},
			Directives{NoCacheFields: []string{"Set-Cookie", "X-Foo"}}},
		{"RFC9111-5.2.2.4 token form of qualified no-cache", []string{`no-cache=set-cookie`},
			Directives{NoCacheFields: []string{"Set-Cookie"}}},
		{"RFC9111-5.2.2.7 qualified private", []string{`private="Authorization-Info", max-age=5`},
			Directives{PrivateFields: []string{"Authorization-Info"}, MaxAge: 5 * s, HasMaxAge: true}},
		{"RFC9111-5.2.2.7 unqualified private", []string{"private"}, Directives{Private: true}},
		{"RFC9111-5.2 commas inside quotes do not split", []string{`private="a,b", no-store`},
			Directives{PrivateFields: []string{"A", "B"}, NoStore: true}},
		{"RFC9111-5.2 whitespace and empty members", []string{" , ,\tmax-age=7 ,,  must-revalidate\t,"},
			Directives{MaxAge: 7 * s, HasMaxAge: true, MustRevalidate: true}},
		{"RFC9111-5.2 unknown directives ignored", []string{"foo, bar=baz, community=\"UCI\", max-age=3"},
			Directives{MaxAge: 3 * s, HasMaxAge: true}},
		{"RFC9111-5.2.2 every flag", []string{"no-store, no-cache, private, public, must-revalidate, proxy-revalidate, immutable, no-transform, only-if-cached"},
			Directives{NoStore: true, NoCache: true, Private: true, Public: true, MustRevalidate: true, ProxyRevalidate: true, Immutable: true, NoTransform: true, OnlyIfCached: true}},
		{"RFC9213-2.1 sf boolean false", []string{"no-store=?0, public=?1"}, Directives{Public: true}},
		{"unterminated quote makes max-age malformed", []string{`max-age="60`}, Directives{HasMaxAge: true}},
		{"junk after argument makes it malformed", []string{"max-age=60 70"}, Directives{HasMaxAge: true}},
		{"quoted-pair in argument", []string{`no-cache="x-\a"`}, Directives{NoCacheFields: []string{"X-A"}}},
		{"OWS around equals tolerated", []string{"max-age = 9"}, Directives{MaxAge: 9 * s, HasMaxAge: true}},
		{"name with space is not a directive", []string{"no store"}, Directives{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCacheControl(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCacheControl(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDirectivesCount(t *testing.T) {
	tests := []struct {
		in   []string
		want int
	}{
		{nil, 0},
		{[]string{""}, 0},
		{[]string{" , ,"}, 0},
		{[]string{"none"}, 1}, // RFC 9213 3.1's example: an unknown directive still counts
		{[]string{"max-age=60, no-store"}, 2},
		{[]string{"no store"}, 0},
	}
	for _, tt := range tests {
		if _, n := parseDirectives(tt.in); n != tt.want {
			t.Errorf("parseDirectives(%q) count = %d, want %d", tt.in, n, tt.want)
		}
	}
}

func TestParseCacheControlAllocs(t *testing.T) {
	in := []string{"public, max-age=3600, s-maxage=600, stale-while-revalidate=30, must-revalidate"}
	if n := testing.AllocsPerRun(100, func() { _ = ParseCacheControl(in) }); n != 0 {
		t.Errorf("ParseCacheControl allocates %.0f times, want 0", n)
	}
}

func BenchmarkParseCacheControl(b *testing.B) {
	in := []string{"public, max-age=3600, s-maxage=600, stale-while-revalidate=30, stale-if-error=86400"}
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCacheControl(in)
	}
}
