package httpcache

import (
	"net/http"
	"reflect"
	"testing"
)

func TestRemoveHopByHop(t *testing.T) {
	h := hdr("Connection", "close, X-Private", "Connection", "x-other", "X-Private", "1", "X-Other", "2",
		"Keep-Alive", "timeout=5", "Proxy-Connection", "keep-alive", "Proxy-Authenticate", "Basic",
		"Proxy-Authorization", "Basic x", "TE", "trailers", "Trailer", "X-T", "Transfer-Encoding", "chunked",
		"Upgrade", "h2c", "Alt-Svc", `h3=":8443"`, "Content-Type", "image/png", "Cache-Control", "max-age=1")
	RemoveHopByHop(h)
	want := hdr("Content-Type", "image/png", "Cache-Control", "max-age=1")
	if !reflect.DeepEqual(h, want) {
		t.Errorf("RFC9110-7.6.1 RemoveHopByHop left %v, want %v", h, want)
	}
}

func TestMergeNotModified(t *testing.T) {
	tests := []struct {
		name       string
		stored, nm http.Header
		want       http.Header
	}{
		{"RFC9111-3.2 fields replaced, Content-Length kept",
			hdr("Content-Length", "1000", "Etag", `"v1"`, "Cache-Control", "max-age=60", "Content-Type", "image/png"),
			hdr("Content-Length", "0", "Cache-Control", "max-age=600", "Date", "x"),
			hdr("Content-Length", "1000", "Etag", `"v1"`, "Cache-Control", "max-age=600", "Content-Type", "image/png", "Date", "x")},
		{"RFC9111-3.2 body-describing fields kept",
			hdr("Content-Encoding", "br", "Content-Range", "bytes 0-1/2"),
			hdr("Content-Encoding", "gzip", "Content-Range", "bytes 0-0/1", "Transfer-Encoding", "chunked"),
			hdr("Content-Encoding", "br", "Content-Range", "bytes 0-1/2")},
		{"RFC9110-7.6.1 hop-by-hop of the 304 dropped",
			hdr("X-A", "1"),
			hdr("Connection", "X-A", "X-A", "2", "Keep-Alive", "timeout=1"),
			hdr("X-A", "1")},
		{"multi-line field replaced as a whole",
			hdr("Vary", "Accept", "Vary", "Origin"),
			hdr("Vary", "Accept-Encoding"),
			hdr("Vary", "Accept-Encoding")},
		{"nil stored", nil, hdr("Etag", `"v2"`), hdr("Etag", `"v2"`)},
	}
	for _, tt := range tests {
		storedCopy, nmCopy := tt.stored.Clone(), tt.nm.Clone()
		got := MergeNotModified(tt.stored, tt.nm)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: MergeNotModified = %v, want %v", tt.name, got, tt.want)
		}
		if !reflect.DeepEqual(tt.stored, storedCopy) || !reflect.DeepEqual(tt.nm, nmCopy) {
			t.Errorf("%s: MergeNotModified modified its arguments", tt.name)
		}
	}
	// The result must not share backing arrays with the stored header.
	stored := hdr("X-A", "1")
	got := MergeNotModified(stored, hdr())
	got["X-A"][0] = "changed"
	if stored.Get("X-A") != "1" {
		t.Error("MergeNotModified result aliases the stored header")
	}
}
