package edge

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// ServeHTTP is the hot path: route by Host, then either serve from cache (GET, HEAD) or pass
// the request through to the origin (everything else, and paths a bypass rule names).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.metrics != nil || s.accessLog != nil {
		s.observed(w, r)
		return
	}
	s.serve(w, r)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.stats.Requests.Add(1)
	d := s.routes.Load().lookup(r.Host)
	if rec, ok := w.(*recorder); ok && d != nil {
		rec.domain = d.cfg.Name
	}
	switch {
	case d == nil:
		s.reject(w, http.StatusMisdirectedRequest, "unknown host")
		return
	case s.maxURL > 0 && len(r.RequestURI) > s.maxURL:
		s.reject(w, http.StatusRequestURITooLong, "request URL too long")
		return
	case badPath(r.URL.Path):
		s.reject(w, http.StatusBadRequest, "bad path")
		return
	case r.TLS == nil && d.httpsOnly:
		s.redirectToHTTPS(w, r)
		return
	case r.TLS != nil && d.hsts != nil:
		w.Header()["Strict-Transport-Security"] = d.hsts
	}
	if d.guard != nil && r.Context().Value(prefetchKey{}) == nil {
		if r = s.admit(w, r, d); r == nil {
			return // refused, and answered
		}
	}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		s.pass(w, r, d, "method")
	default:
		if rule := d.cfg.Rule(r.URL.Path); rule != nil && rule.Bypass {
			s.pass(w, r, d, "bypass")
			return
		}
		s.serveCacheable(w, r, d)
	}
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

// lookup is what the cache holds for one request.
type lookup struct {
	primary string        // key of the URL
	key     string        // key of the object for this request: primary, or a variant key
	obj     *store.Object // nil on a miss; the caller releases it
	m       *meta
	fwd     string // Cache-Status fwd= reason when the cache cannot answer alone
}

func (lk *lookup) release() {
	if lk.obj != nil {
		lk.obj.Release()
		lk.obj = nil
	}
}

// find looks up the object for a request, following a Vary marker to the variant that matches
// the request's header. Undecodable records are dropped, never served.
func (s *Server) find(primary string, h http.Header) lookup {
	lk := lookup{primary: primary, key: primary, fwd: "uri-miss"}
	obj, m := s.get(primary)
	if obj == nil {
		return lk
	}
	if m.kind != kindVary {
		lk.obj, lk.m, lk.fwd = obj, m, "miss"
		return lk
	}
	obj.Release()
	lk.key, lk.fwd = variantKey(primary, httpcache.VaryKey(m.varyFields, h)), "vary-miss"
	if obj, m = s.get(lk.key); obj != nil {
		lk.obj, lk.m, lk.fwd = obj, m, "miss"
	}
	return lk
}

func (s *Server) get(key string) (*store.Object, *meta) {
	obj, ok := s.store.Get(key)
	if !ok {
		return nil, nil
	}
	m, err := s.memo.decode(key, obj.Meta())
	if err != nil {
		obj.Release()
		s.store.Delete(key)
		s.log.Warn("dropped undecodable cache record", "key", key, "err", err)
		return nil, nil
	}
	return obj, m
}

// applyBans makes a purged object a miss (hard purge) or stale as of the purge (soft).
func (s *Server) applyBans(d *domain, lk *lookup) {
	b := s.bans.check(d.cfg.Name, lk.m)
	if b == nil {
		return
	}
	if b.Soft {
		lk.m = lk.m.staleAsOf(b.At)
		return
	}
	lk.release()
	s.store.Delete(lk.key)
	lk.m, lk.fwd = nil, "miss"
}

// serveCacheable answers a GET or HEAD: a fresh hit directly, a stale one while revalidating
// in the background when stale-while-revalidate allows, everything else through one coalesced
// fill per key.
func (s *Server) serveCacheable(w http.ResponseWriter, r *http.Request, d *domain) {
	if d.images != nil && r.URL.RawQuery != "" {
		t, ok, err := d.images.parse(r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept"))
		switch {
		case !ok:
		case err != nil:
			s.writeError(w, http.StatusBadRequest, err.Error(), httpcache.Status{Fwd: "bypass", Detail: "bad-image-parameter"})
			return
		case t.spec.IsZero(): // parameters that ask for nothing: the source, untouched
			r = withURL(r, r.URL.EscapedPath(), t.rest)
		default:
			s.serveImage(w, r, d, &t)
			return
		}
	}
	primary := d.keyer.key(r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header)
	for attempt := 0; ; attempt++ {
		lk := s.find(primary, r.Header)
		now := s.now()
		if attempt == 0 {
			now = s.requestNow(w) // later attempts follow a wait: read the clock
		}
		if lk.obj != nil && lk.m.kind == kindObject {
			s.applyBans(d, &lk)
		}
		if lk.obj != nil {
			m := lk.m
			switch {
			case m.kind == kindPass && m.fresh(now):
				lk.release()
				s.passGet(w, r, d, "miss", "uncacheable")
				return
			case m.kind == kindObject && m.fresh(now) && !m.noCache:
				s.stats.Hits.Add(1)
				s.serveHit(w, r, d, &lk, httpcache.Status{Hit: true, TTL: m.remaining(now), HasTTL: true})
				lk.release()
				return
			case m.kind == kindObject && !m.mustReval && !m.noCache && -m.remaining(now) < m.swr && r.Context().Value(syncRevalidate{}) == nil:
				s.stats.Stale.Add(1)
				s.revalidateInBackground(r, d, lk)
				s.serveHit(w, r, d, &lk, httpcache.Status{Hit: true, TTL: m.remaining(now), HasTTL: true, Detail: "stale-while-revalidate"})
				lk.release()
				return
			}
			if m.kind != kindObject {
				lk.release() // an expired hit-for-pass marker: a plain miss
			}
		}
		if attempt == 2 {
			// The fills we joined were not for us (private responses, other variants):
			// stop coalescing and ask the origin directly.
			lk.release()
			s.passGet(w, r, d, lk.fwd, "")
			return
		}
		if s.fillAndServe(w, r, d, &lk) {
			return
		}
	}
}

// fillAndServe joins or leads the fill of lk.key and answers from its result. It returns false
// when the result is not usable for this request and the caller should look again.
func (s *Server) fillAndServe(w http.ResponseWriter, r *http.Request, d *domain, lk *lookup) bool {
	defer lk.release()
	f, leader := s.flights.join(lk.key)
	var res *fillResult
	if leader {
		fillStart := time.Now()
		res = s.leadFill(r, d, lk, f)
		addOriginTime(w, time.Since(fillStart))
		if !res.fromCache {
			s.stats.Misses.Add(1)
		}
	} else {
		s.stats.Coalesced.Add(1)
		if s.metrics != nil {
			s.metrics.Coalesced(d.cfg.Name)
		}
		waitStart := time.Now()
		defer func() { addOriginTime(w, time.Since(waitStart)) }()
		select {
		case <-f.done:
		case <-r.Context().Done():
			return true
		}
		res = f.res
		// Not for us: a response only the leader may see, another variant, or an object the
		// leader found in the cache after all (its handle is the leader's): look again.
		if res.pass || res.fromCache || !res.matches(r.Header) {
			return false
		}
	}
	cs := httpcache.Status{Fwd: lk.fwd, FwdStatus: res.fwdStatus, Stored: res.stored, Collapsed: !leader}
	if res.err != nil {
		s.serveError(w, r, d, lk, res.err, cs)
		return true
	}
	if res.notModified {
		if lk.obj == nil {
			return false // revalidated someone else's copy; ours is gone: look again
		}
		lk.m = res.m
		cs.Fwd, cs.TTL, cs.HasTTL = "stale", res.m.remaining(s.now()), true
		s.serveHit(w, r, d, lk, cs)
		return true
	}
	if res.m.kind == kindObject && res.stored {
		cs.TTL, cs.HasTTL = res.m.remaining(s.now()), true
	}
	if lk.obj != nil {
		cs.Fwd = "stale"
	}
	if res.fromCache {
		found := lookup{primary: lk.primary, key: lk.key, obj: res.obj, m: res.m}
		s.serveHit(w, r, d, &found, httpcache.Status{Hit: true, TTL: res.m.remaining(s.now()), HasTTL: true})
		found.release()
		return true
	}
	if res.body != nil && res.m.kind == kindObject {
		if enc := d.compress.encodingFor(r, res.m, res.size); enc != "" {
			base := lk.key
			if res.varyKey != "" {
				base = variantKey(lk.primary, res.varyKey)
			}
			s.serveEncodedBody(w, r, d, base, res.m, res.body, enc, res.stored, cs)
			return true
		}
	}
	s.serveResult(w, r, res, cs, leader)
	return true
}

// serveHit answers from a stored object, in the coding the request prefers where the domain
// compresses it.
func (s *Server) serveHit(w http.ResponseWriter, r *http.Request, d *domain, lk *lookup, cs httpcache.Status) {
	if enc := d.compress.encodingFor(r, lk.m, lk.obj.Size()); enc != "" {
		s.serveEncoded(w, r, d, lk, enc, cs)
		return
	}
	s.serveStored(w, r, lk, cs)
}

// leadFill runs the fill of a key this request leads. It first looks again: a fill that ended
// between our lookup and our join has already stored what we need.
func (s *Server) leadFill(r *http.Request, d *domain, lk *lookup, f *flight) *fillResult {
	again := s.find(lk.primary, r.Header)
	if again.obj != nil && again.m.kind == kindObject {
		s.applyBans(d, &again)
	}
	if again.obj != nil && again.m.kind == kindObject && again.m.fresh(s.now()) && !again.m.noCache {
		res := &fillResult{m: again.m, obj: again.obj, size: again.obj.Size(), fromCache: true}
		s.flights.finish(lk.key, f, res)
		return res
	}
	again.release()
	req, cancel := s.originRequest(r, d, lk)
	key := lk.key // not lk: capturing it would move every request's lookup to the heap
	res := s.fill(d, req, cancel, lk, func() { s.flights.forget(key, f) })
	s.flights.finish(lk.key, f, res)
	return res
}

// revalidateInBackground refreshes a stale object while the stale copy is served
// (stale-while-revalidate). At most one revalidation per key runs at a time.
func (s *Server) revalidateInBackground(r *http.Request, d *domain, lk lookup) {
	f, leader := s.flights.join(lk.key)
	if !leader {
		return
	}
	// Look again, as leadFill does: a revalidation that ended between our lookup and our join
	// has already stored a fresh object.
	if again := s.find(lk.primary, r.Header); again.obj != nil {
		fresh := again.m.kind == kindObject && again.m.fresh(s.now())
		again.release()
		if fresh {
			s.flights.finish(lk.key, f, &fillResult{fromCache: true, size: -1})
			return
		}
	}
	bg := lookup{primary: lk.primary, key: lk.key, m: lk.m, fwd: lk.fwd}
	req, cancel := s.originRequest(r, d, &bg)
	go func() {
		res := s.fill(d, req, cancel, &bg, func() { s.flights.forget(bg.key, f) })
		s.flights.finish(bg.key, f, res)
		res.closeUnshared()
	}()
}

// staleAllowed says whether a stale object may stand in for a failed origin: never after
// must-revalidate; within the response's stale-if-error, or the domain's outage window.
func (s *Server) staleAllowed(m *meta, d *domain, now time.Time) bool {
	if m == nil || m.kind != kindObject || m.mustReval {
		return false
	}
	over := -m.remaining(now)
	return over < m.sie || over < d.cfg.Cache.StaleIfOriginDown.D()
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
