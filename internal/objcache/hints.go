package objcache

import (
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// 103 Early Hints (RFC 8297) let a browser preload a page's images and styles while the page
// itself is still being fetched. The cache passes them on for the client whose request leads
// a fill: the stored copy's preload links first (Policy.HintsFromStore), then each 103 the
// upstream sends (Policy.RelayHints) as it arrives. Nothing of a 103 is stored: a later hit
// is answered from the final response alone.

// maxRelayedHints bounds the 103s passed on for one fill: an upstream may send several, but
// not an endless stream of them to the client.
const maxRelayedHints = 8

// hintRelay writes 103s to one client until its fill has the upstream's answer: the
// transport calls Got1xxResponse on its own goroutine, and after the answer the writer
// belongs to the response.
type hintRelay struct {
	mu   sync.Mutex
	w    http.ResponseWriter // nil once closed
	sent int
}

// hintsFor returns the request a fill this request leads sends upstream (r with a trace that
// relays 103s) and the function that stops the relay once the answer has come. Without a
// writer, or with hints off for the domain, it is req.HTTP and a no-op.
func (c *Cache) hintsFor(p *Policy, req *Request, e *Entry) (*http.Request, func()) {
	r := req.HTTP
	if req.W == nil || !r.ProtoAtLeast(1, 1) || (!p.RelayHints && !p.HintsFromStore) {
		return r, func() {}
	}
	h := &hintRelay{w: req.W}
	if p.HintsFromStore && e.Meta != nil && e.Meta.Kind == RecordObject {
		h.send(httpcache.HintLinks(e.Meta.Header["Link"]), nil)
	}
	if !p.RelayHints {
		return r, h.close
	}
	return h.traced(r), h.close
}

// RelayHints is the relay for a request the cache does not answer (a pass): it returns up
// with a trace that passes the upstream's 103s to w, and the function that stops it once the
// answer has come (call it before writing the response). With hints off, or an HTTP/1.0
// client, up is returned as it is.
func RelayHints(p *Policy, w http.ResponseWriter, client, up *http.Request) (*http.Request, func()) {
	if !p.RelayHints || !client.ProtoAtLeast(1, 1) {
		return up, func() {}
	}
	h := &hintRelay{w: w}
	return h.traced(up), h.close
}

// traced is r with a client trace that relays each 103 it gets.
func (h *hintRelay) traced(r *http.Request) *http.Request {
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			h.send(header["Link"], header)
		}
		return nil
	}}
	return r.WithContext(httptrace.WithClientTrace(r.Context(), trace))
}

// send writes one 103 with links (and the upstream's other interim fields, less hop-by-hop
// ones), unless the relay is closed or has sent its share.
func (h *hintRelay) send(links []string, upstream textproto.MIMEHeader) {
	if len(links) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil || h.sent == maxRelayedHints {
		return
	}
	h.sent++
	fields := http.Header(maps.Clone(upstream))
	if fields == nil {
		fields = http.Header{}
	}
	httpcache.RemoveHopByHop(fields)
	delete(fields, "Content-Length")
	fields["Link"] = links
	WriteEarlyHints(h.w, fields)
}

func (h *hintRelay) close() {
	h.mu.Lock()
	h.w = nil
	h.mu.Unlock()
}

// WriteEarlyHints sends a 103 with exactly fields on w, leaving w's header as it was for the
// final response. The caller checks that the client speaks HTTP/1.1 or later (RFC 9110 15.2:
// no 1xx to an HTTP/1.0 client).
func WriteEarlyHints(w http.ResponseWriter, fields http.Header) {
	h := w.Header()
	saved := maps.Clone(h)
	clear(h)
	maps.Copy(h, fields)
	w.WriteHeader(http.StatusEarlyHints)
	clear(h)
	maps.Copy(h, saved)
}
