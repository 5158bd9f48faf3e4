package compress

import "testing"

func TestCompressible(t *testing.T) {
	const big = 4096
	tests := []struct {
		ct, ce string
		size   int64
		want   bool
	}{
		{"text/html; charset=utf-8", "", big, true},
		{"text/css", "", big, true},
		{"text/plain", "identity", big, true},
		{"text/plain", "IDENTITY", big, true},
		{"TEXT/CSV", "", big, true},
		{"application/javascript", "", big, true},
		{"application/json", "", big, true},
		{"application/xml", "", big, true},
		{"application/ld+json", "", big, true},
		{"application/atom+xml; charset=utf-8", "", big, true},
		{"image/svg+xml", "", big, true},
		{"font/ttf", "", big, true},
		{"font/otf", "", big, true},
		{"font/woff", "", big, false},
		{"font/woff2", "", big, false},
		{"image/png", "", big, false},
		{"image/jpeg", "", big, false},
		{"application/octet-stream", "", big, false},
		{"application/zip", "", big, false},
		{"image/foo+xml", "", big, false},
		{"", "", big, false},
		{"garbage", "", big, false},
		{"text/", "", big, false},
		{"text/html", "gzip", big, false},
		{"text/html", "br", big, false},
		{"application/json", "zstd", big, false},
		{"text/html", "", MinSize, false},
		{"text/html", "", MinSize + 1, true},
		{"text/html", "", 0, false},
		{"text/html", "", -1, false},
	}
	for _, tt := range tests {
		if got := Compressible(tt.ct, tt.ce, tt.size); got != tt.want {
			t.Errorf("Compressible(%q, %q, %d) = %v, want %v", tt.ct, tt.ce, tt.size, got, tt.want)
		}
	}
}
