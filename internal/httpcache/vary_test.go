package httpcache

import (
	"net/http"
	"reflect"
	"testing"
)

func TestVaryFields(t *testing.T) {
	tests := []struct {
		name   string
		h      http.Header
		fields []string
		star   bool
	}{
		{"none", hdr(), nil, false},
		{"RFC9111-4.1 canonical, sorted, deduplicated", hdr("Vary", "accept-encoding, Accept", "Vary", "ACCEPT-ENCODING"),
			[]string{"Accept", "Accept-Encoding"}, false},
		{"RFC9111-4.1 star", hdr("Vary", "Accept, *"), []string{"Accept"}, true},
		{"empty members and junk skipped", hdr("Vary", " , Origin ,, bad field"), []string{"Origin"}, false},
	}
	for _, tt := range tests {
		fields, star := VaryFields(tt.h)
		if !reflect.DeepEqual(fields, tt.fields) || star != tt.star {
			t.Errorf("%s: VaryFields = %q, %v; want %q, %v", tt.name, fields, star, tt.fields, tt.star)
		}
	}
}

func TestVaryKey(t *testing.T) {
	fields := []string{"Accept", "Accept-Encoding"}
	tests := []struct {
		name  string
		a, b  http.Header
		equal bool
	}{
		{"same values", hdr("Accept", "image/webp", "Accept-Encoding", "br"), hdr("Accept", "image/webp", "Accept-Encoding", "br"), true},
		{"different values", hdr("Accept", "image/webp"), hdr("Accept", "image/avif"), false},
		{"RFC9111-4.1 absent differs from empty", hdr(), hdr("Accept", "", "Accept-Encoding", ""), false},
		{"RFC9111-4.1 whitespace normalised", hdr("Accept-Encoding", "gzip ,  br"), hdr("Accept-Encoding", "gzip,br"), true},
		{"RFC9111-4.1 lines combined", hdr("Accept-Encoding", "gzip", "Accept-Encoding", "br"), hdr("Accept-Encoding", "gzip, br"), true},
		{"quoted whitespace kept", hdr("Accept", `a;q="x  y"`), hdr("Accept", `a;q="x y"`), false},
		{"order of members matters", hdr("Accept-Encoding", "gzip, br"), hdr("Accept-Encoding", "br, gzip"), false},
		{"a value cannot forge the next field", hdr("Accept", `x" "Accept-Encoding"="y`), hdr("Accept", "x", "Accept-Encoding", "y"), false},
		{"unrelated fields ignored", hdr("Accept", "a", "Cookie", "1"), hdr("Accept", "a", "Cookie", "2"), true},
	}
	for _, tt := range tests {
		ka, kb := VaryKey(fields, tt.a), VaryKey(fields, tt.b)
		if (ka == kb) != tt.equal {
			t.Errorf("%s: VaryKey equal = %v, want %v (%q vs %q)", tt.name, ka == kb, tt.equal, ka, kb)
		}
	}
	if got, want := VaryKey(fields, hdr("Accept-Encoding", " gzip\t, br ")), `"Accept"! "Accept-Encoding"="gzip, br"`; got != want {
		t.Errorf("VaryKey = %q, want %q", got, want)
	}
	if got := VaryKey(nil, hdr("Accept", "x")); got != "" {
		t.Errorf("VaryKey without fields = %q, want empty", got)
	}
}
