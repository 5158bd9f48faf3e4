package httpcache

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fuzz targets: `go test` runs only the seeds below; `go test -fuzz=FuzzX` explores.

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"", "max-age=60", "public, s-maxage=120, stale-while-revalidate=30", `no-cache="set-cookie, x-a"`,
		`private="a,b", no-store`, "max-age=99999999999999999999", `max-age="60`, "MAX-AGE=1,,max-age=2",
		"no-store=?0", `no-cache="x-\a"`, " , \t,", "max-age = 9", "=,=,=", `"`, `a="\`,
	} {
		f.Add(s)
	}
	const maxDur = maxDeltaSeconds * time.Second
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseCacheControl([]string{s})
		for _, v := range []struct {
			dur time.Duration
			has bool
		}{{d.MaxAge, d.HasMaxAge}, {d.SMaxAge, d.HasSMaxAge}, {d.StaleWhileRevalidate, d.HasSWR}, {d.StaleIfError, d.HasSIE}} {
			if v.dur < 0 || v.dur > maxDur || (!v.has && v.dur != 0) {
				t.Fatalf("ParseCacheControl(%q) = %+v: duration out of range", s, d)
			}
		}
		// A second identical line changes no value (first wins) and no flag (idempotent); the
		// qualified field lists simply accumulate.
		d2 := ParseCacheControl([]string{s, s})
		if want := append(append([]string(nil), d.NoCacheFields...), d.NoCacheFields...); len(want) > 0 && !reflect.DeepEqual(d2.NoCacheFields, want) {
			t.Fatalf("repeating %q: no-cache fields %q, want %q", s, d2.NoCacheFields, want)
		}
		d2.NoCacheFields, d2.PrivateFields = d.NoCacheFields, d.PrivateFields
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("repeating %q changed the result:\n%+v\n%+v", s, d, d2)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-99", "bytes=-500", "bytes=500-", "bytes=900-5000", "bytes=1000-", "bytes=0-1,5-6",
		"bytes=abc", "bytes=-0", "BYTES= ,0-9, ", "bytes=1-99999999999999999999999", "bytes=10-5", "bytes=-",
	} {
		f.Add(s, int64(1000))
	}
	f.Add("bytes=0-", int64(0))
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		r, status := ParseRange(header, size)
		switch status {
		case 206:
			if r.Start < 0 || r.Length < 1 || r.Start >= size || r.Length > size-r.Start {
				t.Fatalf("ParseRange(%q, %d) = %+v outside [0,%d)", header, size, r, size)
			}
			_ = ContentRange(r, size)
		case 200, 416:
			if r != (ByteRange{}) {
				t.Fatalf("ParseRange(%q, %d) = %+v with status %d", header, size, r, status)
			}
		default:
			t.Fatalf("ParseRange(%q, %d) status %d", header, size, status)
		}
	})
}

func FuzzCheckPreconditions(f *testing.F) {
	date := httpDate(t0)
	f.Add(`"v1"`, "", `"v1"`, "", "", "GET")
	f.Add("", `W/"v1", "v2"`, `"v2"`, date, "", "HEAD")
	f.Add("*", "*", "", "", date, "PUT")
	f.Add(`"a,b"`, `"a,b"`, `W/"a,b"`, "0", "garbage", "GET")
	f.Add(`"unterminated`, `W/`, `"x"`, date, date, "POST")
	f.Fuzz(func(t *testing.T, ifMatch, ifNoneMatch, etag, ims, ius, method string) {
		v := ValidatorsOf(hdr("Etag", etag, "Last-Modified", date))
		req := http.Header{}
		for name, val := range map[string]string{"If-Match": ifMatch, "If-None-Match": ifNoneMatch, "If-Modified-Since": ims, "If-Unmodified-Since": ius} {
			if val != "" {
				req.Set(name, val)
			}
		}
		got := CheckPreconditions(method, req, v)
		if got != 0 && got != 304 && got != 412 {
			t.Fatalf("CheckPreconditions = %d", got)
		}
		if got == 304 && method != "GET" && method != "HEAD" {
			t.Fatalf("304 for method %q", method)
		}
		if v.ETag != "" {
			// The stored tag always matches itself weakly, and strongly unless weak.
			if got := CheckPreconditions("GET", hdr("If-None-Match", v.ETag), v); got != 304 {
				t.Fatalf("If-None-Match %s against itself = %d", v.ETag, got)
			}
			if got, want := CheckPreconditions("GET", hdr("If-Match", v.ETag), v) == 0, !isWeak(v.ETag); got != want {
				t.Fatalf("If-Match %s against itself passes=%v, want %v", v.ETag, got, want)
			}
			if IfRangeAllows(v.ETag, v) != !isWeak(v.ETag) {
				t.Fatalf("If-Range %s against itself", v.ETag)
			}
		}
		_ = IfRangeAllows(ifMatch, v)
	})
}

func FuzzVaryKey(f *testing.F) {
	f.Add("Accept-Encoding", "gzip, br", "gzip,br")
	f.Add("Accept", `a;q="x  y"`, `a;q="x y"`)
	f.Add("accept", `x" "Accept-Encoding"="y`, "")
	f.Add("X", "\t a \t", "a")
	f.Fuzz(func(t *testing.T, name, v1, v2 string) {
		fields := []string{http.CanonicalHeaderKey(name)}
		h1, h2 := http.Header{}, http.Header{}
		h1[fields[0]] = []string{v1}
		h2[fields[0]] = []string{v2}
		k1, k2 := VaryKey(fields, h1), VaryKey(fields, h2)
		n1, n2 := normaliseValue([]string{v1}), normaliseValue([]string{v2})
		if (k1 == k2) != (n1 == n2) {
			t.Fatalf("keys equal=%v but normalised values equal=%v: %q %q", k1 == k2, n1 == n2, n1, n2)
		}
		if again := normaliseValue([]string{n1}); again != n1 {
			t.Fatalf("normalisation not idempotent: %q -> %q -> %q", v1, n1, again)
		}
		if VaryKey(fields, http.Header{}) == k1 {
			t.Fatalf("absent field gives the same key as %q", v1)
		}
		if VaryKey(fields, h1) != k1 {
			t.Fatal("VaryKey not deterministic")
		}
	})
}

// FuzzHintLinks: any Link field is split without panicking, and every hint returned is a piece
// of the input that starts with a URI reference.
func FuzzHintLinks(f *testing.F) {
	for _, s := range []string{"</a.css>; rel=preload", `</a,b>; rel="preload x", <c>; rel=preconnect`, "<", `"`, "</a>; rel"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		for _, v := range HintLinks([]string{field}) {
			if !strings.Contains(field, v) || v[0] != '<' {
				t.Fatalf("hint %q from %q", v, field)
			}
		}
	})
}
