package compress

import "testing"

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"empty", "", Identity},
		{"only spaces", "   ", Identity},
		{"browser default", "gzip, deflate, br, zstd", Brotli},
		{"order in header does not matter", "gzip, zstd, br", Brotli},
		{"zstd over gzip", "gzip, zstd", Zstd},
		{"gzip only", "gzip", Gzip},
		{"x-gzip alias", "x-gzip", Gzip},
		{"deflate only is not produced", "deflate", Identity},
		{"identity only", "identity", Identity},
		{"higher q wins over preference", "br;q=0.5, gzip;q=0.9", Gzip},
		{"tie broken by preference", "gzip;q=0.8, br;q=0.8", Brotli},
		{"q=0 refuses br", "br;q=0, gzip", Gzip},
		{"q=0.0 refuses", "br;q=0.0, zstd;q=0.000, gzip;q=0.1", Gzip},
		{"all refused", "br;q=0, zstd;q=0, gzip;q=0", Identity},
		{"star accepts all", "*", Brotli},
		{"star with q", "*;q=0.5", Brotli},
		{"star zero refuses all", "*;q=0", Identity},
		{"named overrides star", "*;q=0, gzip", Gzip},
		{"named zero overrides star", "*, br;q=0", Zstd},
		{"named lower than star", "*;q=0.9, br;q=0.1", Zstd},
		{"case insensitive", "GZIP, BR;Q=0.5, Zstd;q=0.4", Gzip},
		{"spaces around", "  br ; q = 0.7 ,\tgzip ;q=0.6 ", Brotli},
		{"first duplicate wins", "br;q=0, br;q=1, gzip", Gzip},
		{"q above 1 drops element", "br;q=2, gzip", Gzip},
		{"negative q drops element", "br;q=-0.5, gzip", Gzip},
		{"NaN q drops element", "br;q=NaN, gzip", Gzip},
		{"exponent q drops element", "br;q=1e-1, gzip", Gzip},
		{"empty q drops element", "br;q=, gzip", Gzip},
		{"other params ignored", "br;level=3, gzip", Brotli},
		{"garbage", ";;;,,,===", Identity},
		{"garbage with valid tail", "@@@, ;q=1, \"br\", zstd", Zstd},
		{"empty elements", ",,gzip,,", Gzip},
		{"unknown codings only", "compress, deflate, sdch", Identity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Negotiate(tt.header); got != tt.want {
				t.Errorf("Negotiate(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// FuzzNegotiate checks that any header yields one of the four codings and
// that a coding refused by name is never chosen.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "gzip, br", "*;q=0", "br;q=0.5, zstd;q=0.9", "x;q=1e9", ";;,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := Negotiate(h)
		switch got {
		case Brotli, Zstd, Gzip, Identity:
		default:
			t.Fatalf("Negotiate(%q) = %q", h, got)
		}
		if got == Identity {
			return
		}
		named, _, _ := parseAcceptEncoding(h)
		if q, ok := named[got]; ok && q == 0 {
			t.Fatalf("Negotiate(%q) chose %q refused with q=0", h, got)
		}
	})
}

func BenchmarkNegotiate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if Negotiate("gzip, deflate, br, zstd") != Brotli {
			b.Fatal("wrong coding")
		}
	}
}
