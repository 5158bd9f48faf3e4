package edge

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
)

// ServeHTTP is the hot path: route by Host, admit by the domain's rules, then either serve
// from cache (GET, HEAD) or pass the request through to the origin (everything else, and
// paths a bypass rule names), and respond.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var err error
	if s.metrics != nil || s.accessLog != nil || s.live != nil {
		err = s.observed(w, r)
	} else {
		err = s.serve(w, r, fromClient)
	}
	if err != nil {
		s.abort(err) // a body that broke off mid-response: the connection must end
	}
}

// ServeInline is h1.InlineHandler: it answers a client's request now if the memory tier can
// (a fresh or stale-while-revalidate object, small enough to leave in one write), and
// otherwise declines having written nothing and counted nothing, for ServeHTTP to answer on
// the connection's own goroutine. Requests that would consume a domain's rate limit, go to
// the origin, make an image or compress are declined before anything is done for them.
func (s *Server) ServeInline(w http.ResponseWriter, r *http.Request) bool {
	var err error
	if s.metrics != nil || s.accessLog != nil || s.live != nil {
		err = s.observed(w, r)
	} else {
		err = s.serve(w, r, fromClient)
	}
	switch {
	case err == errWouldBlock:
		s.stats.Requests.Add(-1)
		return false
	case err != nil:
		s.abort(err)
	}
	return true
}

// errWouldBlock is how an inline request (h1.Inline) is declined: nothing has been written.
var errWouldBlock = errors.New("edge: the answer needs a wait")

// inlineMaxBody is the largest body served inline: a loop holds what the kernel does not
// take at once, and a large body is better sent by a goroutine that can wait.
const inlineMaxBody = 256 << 10

// ServesInline is objcache.InlineFilter: an object leaves inline when it is small and goes
// out as stored (compressing it is work for a goroutine).
func (d *domain) ServesInline(r *http.Request, m *objcache.Meta, size int64) bool {
	return size <= inlineMaxBody && d.compress.encodingFor(r, m, size) == ""
}

// caller is who sent a request: the domain's access rules are for clients, and a peer that
// picked this node as a key's owner must not be sent on to another peer.
type caller uint8

const (
	fromClient   caller = iota
	fromOperator        // a prefetch through the admin API
	fromPeer            // a node of the POP: this node owns the key
	fromChild           // a node of a lower tier
)

// serve answers a request by its Host. An error is a response cut short after its header was
// sent.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, from caller) error {
	s.stats.Requests.Add(1)
	d := s.routes.Load().lookup(r.Host)
	if rec, ok := w.(*recorder); ok && d != nil {
		rec.domain = d.cfg.Name
	}
	if d == nil {
		s.reject(w, http.StatusMisdirectedRequest, "unknown host")
		return nil
	}
	if r.TLS != nil {
		s.advertiseH3(w.Header(), r, d)
	}
	if d.cfg.ServerTiming && from == fromClient {
		w = &timingWriter{ResponseWriter: w}
	}
	return s.handle(w, r, d, from)
}

// timingWriter copies the response's Cache-Status into a Server-Timing entry as the header
// goes out, for a domain with server_timing: a page reads it for each of its own loads from
// the Resource Timing API (performance.getEntriesByType("resource")[i].serverTiming), which
// cannot read Cache-Status itself.
type timingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *timingWriter) WriteHeader(status int) {
	if !t.wrote && status >= 200 { // an interim 103 goes out as it is
		t.wrote = true
		h := t.Header()
		if cs := headerValue(h, "Cache-Status"); cs != "" {
			h["Server-Timing"] = []string{`cdn-cache;desc=` + strconv.Quote(cs)}
		}
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *timingWriter) Write(p []byte) (int, error) {
	if !t.wrote {
		t.WriteHeader(http.StatusOK)
	}
	return t.ResponseWriter.Write(p)
}

func (t *timingWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (t *timingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// ServePeer answers a request another node sent to the peer endpoint for the configured
// domain: tier "peer" from a node of this POP (this node owns the key: it fills from its
// parent or the origin), "child" from a lower tier (which may be sent on to this POP's
// owner). The domain's client access rules do not apply: the node that asked applied them.
func (s *Server) ServePeer(w http.ResponseWriter, r *http.Request, domain, tier string) {
	d := s.routes.Load().domainNamed(domain)
	if d == nil {
		s.reject(w, http.StatusMisdirectedRequest, "unknown domain")
		return
	}
	from := fromChild
	if tier == "peer" {
		from = fromPeer
	}
	s.stats.PeerRequests.Add(1)
	if err := s.handle(w, r, d, from); err != nil {
		s.abort(err)
	}
}

// handle answers r for domain d.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, d *domain, from caller) error {
	client := from == fromClient || from == fromOperator
	switch {
	case s.maxURL > 0 && len(r.RequestURI) > s.maxURL:
		s.reject(w, http.StatusRequestURITooLong, "request URL too long")
		return nil
	case badPath(r.URL.Path):
		s.reject(w, http.StatusBadRequest, "bad path")
		return nil
	case r.TLS == nil && d.httpsOnly && client:
		s.redirectToHTTPS(w, r)
		return nil
	case r.TLS != nil && d.hsts != nil:
		w.Header()["Strict-Transport-Security"] = d.hsts
	}
	if d.guard != nil && from == fromClient {
		if h1.Inline(w) {
			return errWouldBlock // a declined request must not have spent a rate-limit token
		}
		if r = s.admit(w, r, d); r == nil {
			return nil // refused, and answered
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if h1.Inline(w) {
			return errWouldBlock
		}
		return s.pass(w, r, d, "method")
	}
	if rule := d.cfg.Rule(r.URL.Path); rule != nil && rule.Bypass {
		if h1.Inline(w) {
			return errWouldBlock
		}
		return s.pass(w, r, d, "bypass")
	}
	return s.serveCacheable(w, r, d, from)
}

// requestNow is the time to judge freshness by: the observed request's start when the clock
// is the real one (clock reads cost ~60 ns on some VMs, and the start is a few hundred
// nanoseconds old at most here), else the injected clock.
func (s *Server) requestNow(w http.ResponseWriter) time.Time {
	if rec, ok := w.(*recorder); ok && s.realClock {
		return rec.start
	}
	return s.now()
}

// serveCacheable answers a GET or HEAD: a transformed image through the image front-end,
// everything else from the cache's answer for the URL, in the coding the client prefers.
func (s *Server) serveCacheable(w http.ResponseWriter, r *http.Request, d *domain, from caller) error {
	inline := h1.Inline(w)
	if d.images != nil && r.URL.RawQuery != "" {
		if inline {
			return errWouldBlock
		}
		t, ok, err := d.images.parse(r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept"))
		switch {
		case !ok:
		case err != nil:
			s.writeError(w, http.StatusBadRequest, err.Error(), httpcache.Status{Fwd: "bypass", Detail: "bad-image-parameter"})
			return nil
		case t.spec.IsZero(): // parameters that ask for nothing: the source, untouched
			r = withURL(r, r.URL.EscapedPath(), t.rest)
		default:
			return s.serveImage(w, r, d, &t, from)
		}
	}
	primary := d.policy.Keys.Key(r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
	var res objcache.Result
	req := s.cacheRequest(w, r, primary, from) // a value: on the stack, not one allocation per hit
	if inline {
		req.MemoryOnly, req.Inline = true, d
	}
	s.cache.GetInto(d.policy, &req, &res)
	defer res.Release()
	if res.Kind == objcache.WouldBlock {
		return errWouldBlock
	}
	addOriginTime(w, res.Upstream)
	if from >= fromPeer {
		peerTags(w, res.Meta)
	}
	switch res.Kind {
	case objcache.Hit, objcache.NotModified, objcache.Stale:
		return s.serveStored(w, r, d, &res)
	case objcache.Fetched:
		if enc := d.compress.encodingFor(r, res.Meta, res.Body.Size); enc != "" && res.Body.Bytes != nil {
			return s.serveEncodedBody(w, r, d, &res, enc)
		}
		return s.respond(w, r, res.Meta, &res.Body, res.Status, res.Status.Stored)
	case objcache.Uncacheable:
		return s.respond(w, r, res.Meta, &res.Body, res.Status, false)
	case objcache.Forward:
		return s.passGet(w, r, d, res.Status.Fwd, res.Status.Detail)
	}
	s.serveError(w, r, res.Err, res.Status)
	return nil
}

// cacheRequest is what the cache is asked for r.
func (s *Server) cacheRequest(w http.ResponseWriter, r *http.Request, primary string, from caller) objcache.Request {
	return objcache.Request{HTTP: r, Primary: primary, Now: s.requestNow(w), NoPick: from == fromPeer,
		OnlyIfCached: onlyIfCached(r.Header), W: w}
}

// onlyIfCached reports Cache-Control: only-if-cached on a request (a peer's probe of the
// previous owner, or a client's).
func onlyIfCached(h http.Header) bool {
	cc := h["Cache-Control"]
	return len(cc) > 0 && httpcache.ParseCacheControl(cc).OnlyIfCached
}

// peerTags hands a peer the object's purge tags, which the stored header no longer has, so
// that a tag purge covers the copy it may keep.
func peerTags(w http.ResponseWriter, m *objcache.Meta) {
	if m != nil && len(m.Tags) > 0 {
		w.Header()["Surrogate-Key"] = []string{strings.Join(m.Tags, " ")}
	}
}

// serveStored answers from a stored object, in the coding the request prefers where the
// domain compresses it.
func (s *Server) serveStored(w http.ResponseWriter, r *http.Request, d *domain, res *objcache.Result) error {
	if res.Kind == objcache.Hit && d.cfg.EarlyHints.FromCache && r.ProtoAtLeast(1, 1) {
		// A revalidated or stale answer had its hints before the cache asked upstream.
		if links := httpcache.HintLinks(res.Meta.Header["Link"]); len(links) > 0 {
			objcache.WriteEarlyHints(w, http.Header{"Link": links})
		}
	}
	if enc := d.compress.encodingFor(r, res.Meta, res.Body.Size); enc != "" {
		return s.serveEncoded(w, r, d, res, enc)
	}
	return s.respond(w, r, res.Meta, &res.Body, res.Status, true)
}

// badPath refuses what no origin path should contain: dot segments (which would climb out of
// an origin's path prefix or root once joined: "/../", "/%2e%2e/") and NUL bytes.
func badPath(p string) bool {
	if strings.IndexByte(p, 0) >= 0 {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '.' || (i > 0 && p[i-1] != '/') {
			continue
		}
		j := i + 1
		if j < len(p) && p[j] == '.' {
			j++
		}
		if j == len(p) || p[j] == '/' {
			return true
		}
	}
	return false
}

// redirectToHTTPS answers a plain-HTTP request of an https_only domain with 301 to https://.
func (s *Server) redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	host := stripPort(r.Host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if _, port, err := net.SplitHostPort(s.TLSAddr()); err == nil && port != "443" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	w.Header().Set("Cache-Status", string(httpcache.Status{Fwd: "bypass", Detail: "https-only"}.Append(nil, s.nodeName)))
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
}

// stripPort removes a ":port" suffix ("[::1]:80" → "::1").
func stripPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	switch {
	case i < 0:
		return host
	case strings.HasPrefix(host, "["):
		if j := strings.LastIndexByte(host, ']'); j > 0 {
			return host[1:j]
		}
		return host
	case strings.IndexByte(host, ':') != i:
		return host // a bare IPv6 address
	}
	return host[:i]
}
