package imageproc

import "testing"

func TestNegotiateFormat(t *testing.T) {
	const chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
	const safari13 = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
	tests := []struct{ accept, source, want string }{
		{"", "jpeg", "jpeg"},
		{chrome, "jpeg", "avif"},
		{safari13, "jpeg", "webp"},
		{"image/avif;q=0,image/webp", "jpeg", "webp"},
		{"image/avif;q=0, image/webp;q=0", "png", "png"},
		{"image/avif ; q=0.0 , image/webp", "jpg", "webp"},
		{"image/*", "png", "png"},
		{"*/*", "jpeg", "jpeg"},
		{"image/*;q=0.9,*/*;q=0.1", "gif", "gif"},
		{"image/avif;q=0.5,image/webp;q=0.9", "jpeg", "webp"},
		{"image/avif;q=0.9,image/webp;q=0.9", "jpeg", "avif"},
		{"image/avif;q=0.5,*/*", "jpeg", "jpeg"},
		{"image/avif;q=0.5", "jpeg", "avif"},
		{"IMAGE/AVIF", "jpeg", "avif"},
		{"image/webp", "webp", "webp"},
		{"image/avif,image/webp", "webp", "avif"},
		{"image/avif;q=0,*/*", "jpeg", "jpeg"},
		{"image/avif;q=bogus", "jpeg", "avif"},
		{"text/html,application/xhtml+xml", "jpg", "jpeg"},
		{"image/avif;level=1;q=0", "png", "png"},
	}
	for _, tt := range tests {
		if got := NegotiateFormat(tt.accept, tt.source); got != tt.want {
			t.Errorf("NegotiateFormat(%q, %q) = %q, want %q", tt.accept, tt.source, got, tt.want)
		}
	}
}

func BenchmarkNegotiateFormat(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NegotiateFormat("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "jpeg")
	}
}
