package httpcache

import (
	"testing"
	"time"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		name   string
		header string
		size   int64
		want   ByteRange
		status int
	}{
		{"no header", "", 1000, ByteRange{}, 200},
		{"RFC9110-14.1.2 first bytes", "bytes=0-99", 1000, ByteRange{0, 100}, 206},
		{"RFC9110-14.1.2 suffix", "bytes=-500", 1000, ByteRange{500, 500}, 206},
		{"RFC9110-14.1.2 open end", "bytes=500-", 1000, ByteRange{500, 500}, 206},
		{"RFC9110-14.1.2 last byte", "bytes=999-999", 1000, ByteRange{999, 1}, 206},
		{"RFC9110-14.1.2 beyond end clamped", "bytes=900-5000", 1000, ByteRange{900, 100}, 206},
		{"RFC9110-14.1.2 suffix longer than size", "bytes=-5000", 1000, ByteRange{0, 1000}, 206},
		{"RFC9110-14.1.1 unit case-insensitive", "Bytes=0-0", 1000, ByteRange{0, 1}, 206},
		{"RFC9110-5.6.1 empty list members", "bytes= ,0-9, ", 1000, ByteRange{0, 10}, 206},
		{"huge last-pos clamps", "bytes=1-99999999999999999999999", 10, ByteRange{1, 9}, 206},
		{"RFC9110-14.1.2 start beyond size", "bytes=1000-", 1000, ByteRange{}, 416},
		{"RFC9110-14.1.2 huge start", "bytes=99999999999999999999999-", 1000, ByteRange{}, 416},
		{"RFC9110-14.1.2 zero suffix", "bytes=-0", 1000, ByteRange{}, 416},
		{"RFC9110-14.1.2 empty representation", "bytes=0-", 0, ByteRange{}, 416},
		{"multi-range served whole", "bytes=0-1,5-6", 1000, ByteRange{}, 200},
		{"multi-range with unsatisfiable served whole", "bytes=0-1,5000-", 1000, ByteRange{}, 200},
		{"RFC9110-14.1.1 last before first ignored", "bytes=10-5", 1000, ByteRange{}, 200},
		{"other unit", "items=0-5", 1000, ByteRange{}, 200},
		{"garbage", "bytes=abc", 1000, ByteRange{}, 200},
		{"garbage no equals", "bytes", 1000, ByteRange{}, 200},
		{"garbage dash only", "bytes=-", 1000, ByteRange{}, 200},
		{"garbage negative", "bytes=--5", 1000, ByteRange{}, 200},
		{"garbage spaces in spec", "bytes=0 - 5", 1000, ByteRange{}, 200},
		{"garbage plus sign", "bytes=+1-5", 1000, ByteRange{}, 200},
	}
	for _, tt := range tests {
		r, status := ParseRange(tt.header, tt.size)
		if r != tt.want || status != tt.status {
			t.Errorf("%s: ParseRange(%q, %d) = %+v, %d; want %+v, %d", tt.name, tt.header, tt.size, r, status, tt.want, tt.status)
		}
	}
}

func TestIfRangeAllows(t *testing.T) {
	lm := t0
	v := Validators{ETag: `"v1"`, LastModified: lm}
	tests := []struct {
		name    string
		ifRange string
		v       Validators
		want    bool
	}{
		{"empty header", "", v, true},
		{"RFC9110-13.1.5 strong match", `"v1"`, v, true},
		{"RFC9110-13.1.5 mismatch", `"v2"`, v, false},
		{"RFC9110-13.1.5 weak in header never matches", `W/"v1"`, v, false},
		{"RFC9110-13.1.5 weak stored never matches", `"v1"`, Validators{ETag: `W/"v1"`}, false},
		{"RFC9110-13.1.5 exact date", httpDate(lm), v, true},
		{"RFC9110-13.1.5 later date is not exact", httpDate(lm.Add(time.Second)), v, false},
		{"RFC9110-13.1.5 earlier date", httpDate(lm.Add(-time.Second)), v, false},
		{"date without Last-Modified", httpDate(lm), Validators{ETag: `"v1"`}, false},
		{"garbage", "soon", v, false},
		{"unterminated etag", `"v1`, v, false},
	}
	for _, tt := range tests {
		if got := IfRangeAllows(tt.ifRange, tt.v); got != tt.want {
			t.Errorf("%s: IfRangeAllows(%q) = %v, want %v", tt.name, tt.ifRange, got, tt.want)
		}
	}
}

func TestContentRange(t *testing.T) {
	tests := []struct {
		r    ByteRange
		size int64
		want string
	}{
		{ByteRange{0, 100}, 1000, "bytes 0-99/1000"},
		{ByteRange{999, 1}, 1000, "bytes 999-999/1000"},
		{ByteRange{500, 500}, 1000, "bytes 500-999/1000"},
	}
	for _, tt := range tests {
		if got := ContentRange(tt.r, tt.size); got != tt.want {
			t.Errorf("ContentRange(%+v, %d) = %q, want %q", tt.r, tt.size, got, tt.want)
		}
	}
	if got := UnsatisfiedRange(1000); got != "bytes */1000" {
		t.Errorf("UnsatisfiedRange(1000) = %q", got)
	}
}
