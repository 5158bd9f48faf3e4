package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/compress"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// flights coalesces fills: one per cache key, however many clients miss on it at once. Waiters
// block on a channel that the leader closes, so they wake the moment the result exists.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	res  *fillResult // set before done is closed

	// For a made variant (joinMade): the clients still waiting for it, and how to stop the
	// work when none is left.
	interested atomic.Int32
	ctx        context.Context
	abandon    context.CancelCauseFunc
}

func (fs *flights) join(key string) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f = fs.m[key]; f != nil {
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{})}
	fs.m[key] = f
	return f, true
}

// finish publishes res and wakes the waiters. Requests that arrive until the flight is
// forgotten take the same result at once. It is forgotten when the object is in the store:
// now, or for a body still streaming into the store, by the copy when it ends (else late
// arrivals would miss and fetch the object again).
// joinMade is join for work the edge does itself (a variant made from a cached source). The
// work runs under f.ctx: detached from any one client, since others may wait on it, but
// ended with errAbandoned once every client that wanted it has gone, so that abandoned work
// does not keep a worker or a queue place.
func (fs *flights) joinMade(key string, r *http.Request) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f = fs.m[key]; f != nil {
		if f.abandon != nil {
			f.interested.Add(1)
		}
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{})}
	f.ctx, f.abandon = context.WithCancelCause(context.WithoutCancel(r.Context()))
	f.interested.Store(1)
	fs.m[key] = f
	return f, true
}

// leave notes that one client of a made variant is gone.
func (f *flight) leave() {
	if f.abandon != nil && f.interested.Add(-1) == 0 {
		f.abandon(errAbandoned)
	}
}

// errAbandoned ends work every client gave up on.
var errAbandoned = errors.New("every client that asked went away")

func (fs *flights) finish(key string, f *flight, res *fillResult) {
	f.res = res
	close(f.done)
	if res.w == nil {
		fs.forget(key, f)
	}
}

func (fs *flights) forget(key string, f *flight) {
	fs.mu.Lock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	fs.mu.Unlock()
}

// fillResult is the outcome of one fill, shared by the leader and its waiters.
type fillResult struct {
	m           *meta
	body        []byte         // the whole body of a small object
	w           *store.Writer  // a large object being stored: readers follow it
	obj         *store.Object  // found in the cache after all (leader only)
	resp        *http.Response // not shareable: the leader streams it, waiters ask for themselves
	size        int64          // body size, -1 while unknown
	stored      bool
	pass        bool
	notModified bool // the stale object was revalidated; its new metadata is m
	fromCache   bool
	fwdStatus   int
	varyKey     string // the leader's VaryKey when the response varies
	detail      string // a made variant's own Cache-Status detail
	standIn     bool   // a made variant's stale copy, standing in for one the origin's failure prevented
	err         error
}

// matches reports whether a waiter with header h may use a result that varies.
func (res *fillResult) matches(h http.Header) bool {
	if res.m == nil || len(res.m.varyFields) == 0 {
		return true
	}
	return httpcache.VaryKey(res.m.varyFields, h) == res.varyKey
}

// closeUnshared releases a response nobody will read (a background fill's pass-through).
func (res *fillResult) closeUnshared() {
	if res.resp != nil {
		res.resp.Body.Close()
	}
}

// originStatusError stands for a 5xx answer that a stale object may hide (stale-if-error).
type originStatusError struct{ status int }

func (e *originStatusError) Error() string { return fmt.Sprintf("origin answered %d", e.status) }

// originRequest builds the request a fill sends. It outlives the client's request: a fill
// that others wait on is not cancelled when its first client goes away.
func (s *Server) originRequest(r *http.Request, d *domain, lk *lookup) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	req := s.forwardRequest(ctx, r, d, http.MethodGet)
	for _, h := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"} {
		req.Header.Del(h)
	}
	if d.compress != nil {
		// The edge makes the codings itself: one identity copy serves every client.
		req.Header.Del("Accept-Encoding")
	}
	if lk.m != nil && lk.m.kind == kindObject {
		if etag := lk.m.header.Get("Etag"); etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		if lm := lk.m.header.Get("Last-Modified"); lm != "" {
			req.Header.Set("If-Modified-Since", lm)
		}
	}
	return req, cancel
}

// forwardRequest copies a client request for the origin, as a proxy does: hop-by-hop fields
// removed, Via and X-Forwarded-* added. The origin sees only a Host the cache key holds (see
// keyer.upstreamHost), and none of the fields that make frameworks serve another URL, method or
// host than the one keyed, unless the domain keys on them.
func (s *Server) forwardRequest(ctx context.Context, r *http.Request, d *domain, method string) *http.Request {
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.Header.Clone(),
		Host:       d.keyer.upstreamHost(r.Host),
		RemoteAddr: r.RemoteAddr,
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	httpcache.RemoveHopByHop(req.Header)
	req.Header.Add("Via", s.via)
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior := req.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			ip = strings.Join(prior, ", ") + ", " + ip
		}
		req.Header.Set("X-Forwarded-For", ip)
	}
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	req.Header.Set("X-Forwarded-Proto", proto)
	for _, f := range rerouting {
		if _, ok := req.Header[f]; ok && !slices.Contains(d.keyer.headers, f) {
			delete(req.Header, f)
		}
	}
	if req.Host != "" {
		req.Header.Set("X-Forwarded-Host", req.Host)
	} else {
		delete(req.Header, "X-Forwarded-Host")
	}
	return req.WithContext(ctx)
}

// rerouting are request fields that common frameworks and servers obey to serve another path,
// method, host or scheme than the request line and Host say (IIS and Symfony's X-Original-URL,
// method overrides, Forwarded's host=...). The cache does not key on them, so none reaches an
// origin unless the domain lists it in cache.key_headers. X-Forwarded-Host and -Proto are set
// by the edge itself.
var rerouting = []string{
	"X-Original-Url", "X-Rewrite-Url", "X-Original-Uri", "X-Forwarded-Uri", "X-Forwarded-Path",
	"X-Forwarded-Prefix", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	"X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Ssl",
	"X-Url-Scheme", "Front-End-Https", "X-Host", "X-Original-Host", "Forwarded",
}

// fill fetches an object from the origin and stores it. It owns cancel. forget ends the
// flight; fill calls it only for a body it streams into the store, once that is settled.
func (s *Server) fill(d *domain, req *http.Request, cancel context.CancelFunc, lk *lookup, forget func()) *fillResult {
	haveStale := lk.m != nil && lk.m.kind == kindObject
	s.stats.OriginFetches.Add(1)
	reqTime, start := s.now(), time.Now()
	resp, err := d.origin.Fetch(req)
	if err != nil {
		cancel()
		s.stats.OriginErrors.Add(1)
		s.noteOrigin(d, nil, err, time.Since(start))
		return &fillResult{err: err}
	}
	s.noteOrigin(d, resp, nil, time.Since(start))
	respTime := s.now()
	res := &fillResult{fwdStatus: resp.StatusCode, size: -1}
	switch {
	case resp.StatusCode == http.StatusNotModified && haveStale:
		drain(resp, cancel)
		return s.refreshed(d, req, lk, resp.Header, reqTime, respTime, res)
	case haveStale && isServerError(resp.StatusCode) && s.staleAllowed(lk.m, d, respTime):
		drain(resp, cancel)
		res.err = &originStatusError{resp.StatusCode}
		return res
	}
	httpcache.RemoveHopByHop(resp.Header)
	m, fr := s.evaluate(d, req, lk.primary, resp.StatusCode, resp.Header, reqTime, respTime)
	res.m = m
	resp.Body = newIdleReader(resp.Body, cancel, d.cfg.Origin.ResponseTimeout.D())
	key := lk.key
	if len(m.varyFields) > 0 {
		res.varyKey = httpcache.VaryKey(m.varyFields, req.Header)
		key = variantKey(lk.primary, res.varyKey)
	}
	if !fr.Storable || (s.maxObject > 0 && resp.ContentLength > s.maxObject) {
		if !requestBound(fr.Reason) {
			s.markPass(lk.key, respTime)
		}
		res.pass, res.resp = true, resp
		return res
	}
	return s.storeBody(lk, key, m, resp, res, forget)
}

func isServerError(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}

func drain(resp *http.Response, cancel context.CancelFunc) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	cancel()
}

// evaluate decides freshness for an origin response and builds its stored metadata: the
// origin's verdict, then the domain's status TTLs and path rules on top.
func (s *Server) evaluate(d *domain, req *http.Request, primary string, status int, h http.Header, reqTime, respTime time.Time) (*meta, httpcache.Freshness) {
	fr := httpcache.Evaluate(http.MethodGet, req.Header, status, h, respTime, d.heuristic)
	ttl, named := d.cfg.Cache.StatusTTL[status]
	if named && overridable(fr) {
		fr.Storable, fr.Reason, fr.TTL, fr.NoCache = true, "", ttl.D(), false
	} else if rule := d.cfg.Rule(req.URL.Path); rule != nil && fr.Storable {
		fr.TTL, fr.NoCache, fr.Heuristic = rule.TTL.D(), false, false
	}
	if capTTL := d.cfg.Cache.MaxErrorTTL.D(); status >= 500 && !named {
		// A brief origin fault must not be pinned for the lifetime the origin (or a path
		// rule meant for good answers) gave it.
		fr.TTL, fr.StaleWhileRevalidate = min(fr.TTL, capTTL), min(fr.StaleWhileRevalidate, capTTL)
	}
	for _, f := range fr.OmitFields { // private="..." and no-cache="..." fields are not stored
		h.Del(f)
	}
	h.Del("Content-Length")
	h["Via"] = append(h["Via"], s.via)
	tags := purgeTags(h)
	m := &meta{
		primary:      primary,
		tags:         tags,
		kind:         kindObject,
		status:       status,
		mustReval:    fr.MustRevalidate,
		noCache:      fr.NoCache,
		requestTime:  reqTime.UnixNano(),
		responseTime: respTime.UnixNano(),
		initialAge:   httpcache.InitialAge(h, reqTime, respTime),
		ttl:          fr.TTL,
		swr:          fr.StaleWhileRevalidate,
		sie:          fr.StaleIfError,
		header:       h,
	}
	if d.compress != nil && compress.CompressibleType(h.Get("Content-Type"), h.Get("Content-Encoding")) && !noTransform(h) {
		addVary(h, "Accept-Encoding") // this edge answers with a coding or without, by the request
	}
	if fields, star := httpcache.VaryFields(h); !star {
		if d.compress != nil {
			// Fills ask the origin for identity whatever the client sent: the origin's
			// answer does not vary on it here, and one stored copy serves all.
			fields = slices.DeleteFunc(fields, func(f string) bool { return f == "Accept-Encoding" })
		}
		m.varyFields = fields
	}
	if fr.Storable {
		s.bans.noteLifetime(m.ttl + max(m.swr, m.sie, d.cfg.Cache.StaleIfOriginDown.D()))
	}
	return m, fr
}

// requestBound says whether a response was not storable because of this request alone (its
// Authorization or Cache-Control: no-store): that must not turn the URL into hit-for-pass for
// everyone else.
func requestBound(reason string) bool {
	return reason == "authorization" || reason == "request-no-store"
}

// overridable says whether configuration may make a response storable that the origin did not
// mark storable: never across privacy markers.
func overridable(fr httpcache.Freshness) bool {
	switch fr.Reason {
	case "no-store", "private", "set-cookie", "authorization", "vary-star":
		return false
	}
	return true
}

// refreshed applies a 304 to the stale object: merged header, new freshness, same body.
func (s *Server) refreshed(d *domain, req *http.Request, lk *lookup, h304 http.Header, reqTime, respTime time.Time, res *fillResult) *fillResult {
	h := httpcache.MergeNotModified(lk.m.header, h304)
	h["Via"] = removeValue(h["Via"], s.via)
	if h["Surrogate-Key"] == nil && h["Cache-Tag"] == nil {
		h["Surrogate-Key"] = lk.m.tags // a 304 need not repeat them: keep the object's tags
	}
	m, _ := s.evaluate(d, req, lk.primary, lk.m.status, h, reqTime, respTime)
	m.varyFields = lk.m.varyFields
	if err := s.store.UpdateMeta(lk.key, m.encode()); err == nil {
		res.stored = true
	} else {
		s.stats.StoreErrors.Add(1)
	}
	res.m, res.notModified = m, true
	return res
}

func removeValue(vs []string, v string) []string {
	out := vs[:0:0]
	for _, x := range vs {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// markPass remembers for a short while that a key's responses are not cacheable, so that
// requests for it go to the origin side by side instead of queueing behind each other.
func (s *Server) markPass(key string, now time.Time) {
	m := &meta{kind: kindPass, responseTime: now.UnixNano(), ttl: passTTL}
	if err := s.store.Put(key, m.encode(), nil); err != nil {
		s.stats.StoreErrors.Add(1)
	}
}

const passTTL = 10 * time.Second

// storeBody reads and stores the body: whole when it is small, streamed through a store
// Writer (with every client following it) when it is large or of unknown length beyond the
// memory object limit. A body that fails half way is never stored.
func (s *Server) storeBody(lk *lookup, key string, m *meta, resp *http.Response, res *fillResult, forget func()) *fillResult {
	if resp.ContentLength < 0 || resp.ContentLength <= s.memObjMax {
		body, err := readUpTo(resp.Body, s.memObjMax)
		if err != nil {
			resp.Body.Close()
			res.m, res.err = nil, fmt.Errorf("reading origin body: %w", err)
			s.stats.OriginErrors.Add(1)
			return res
		}
		if int64(len(body)) <= s.memObjMax {
			resp.Body.Close()
			res.body, res.size = body, int64(len(body))
			res.stored = s.put(lk, key, m, body)
			return res
		}
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	}
	w, err := s.store.Begin(key, m.encode(), resp.ContentLength)
	if err != nil {
		if !errors.Is(err, store.ErrTooLarge) {
			s.stats.StoreErrors.Add(1)
		}
		res.pass, res.resp = true, resp
		return res
	}
	s.putVaryMarker(lk, m)
	res.w, res.size, res.stored = w, resp.ContentLength, true
	go s.copyToStore(w, resp, forget)
	return res
}

// copyToStore streams the origin body into the store. The flight ends before an abort
// (requests after it fetch anew) and after a commit (requests until then follow the writer).
func (s *Server) copyToStore(w *store.Writer, resp *http.Response, forget func()) {
	defer resp.Body.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	if _, err := io.CopyBuffer(w, resp.Body, *bp); err != nil {
		forget()
		w.Abort()
		s.stats.OriginErrors.Add(1)
		s.log.Warn("fill aborted", "err", err)
		return
	}
	err := w.Commit()
	forget()
	if err != nil {
		s.stats.StoreErrors.Add(1)
		s.log.Warn("store commit failed", "err", err)
	}
}

func (s *Server) put(lk *lookup, key string, m *meta, body []byte) bool {
	if err := s.store.Put(key, m.encode(), body); err != nil {
		s.stats.StoreErrors.Add(1)
		return false
	}
	s.putVaryMarker(lk, m)
	return true
}

// putVaryMarker records at the URL's key which request fields its responses vary on.
func (s *Server) putVaryMarker(lk *lookup, m *meta) {
	if len(m.varyFields) == 0 {
		return
	}
	mk := &meta{kind: kindVary, responseTime: m.responseTime, ttl: 365 * 24 * time.Hour, varyFields: m.varyFields}
	if err := s.store.Put(lk.primary, mk.encode(), nil); err != nil {
		s.stats.StoreErrors.Add(1)
	}
}

// readUpTo reads all of r when it holds at most max bytes, else the first max+1 bytes.
func readUpTo(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	return buf.Bytes(), err
}

type readCloser struct {
	io.Reader
	io.Closer
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// idleReader cancels an origin body whose bytes stop coming for longer than idle, so a stalled
// origin cannot hold a fill (and everyone waiting on it) forever.
type idleReader struct {
	rc     io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	cancel context.CancelFunc
}

func newIdleReader(rc io.ReadCloser, cancel context.CancelFunc, idle time.Duration) io.ReadCloser {
	if idle <= 0 {
		idle = 30 * time.Second
	}
	return &idleReader{rc: rc, timer: time.AfterFunc(idle, cancel), idle: idle, cancel: cancel}
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.timer.Reset(r.idle)
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	err := r.rc.Close()
	r.cancel()
	return err
}
