package objcache

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
	"time"

	"github.com/pixcdn/pixcdn/internal/compress"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// StatusError stands for a 5xx answer that a stale object may hide (stale-if-error).
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("upstream answered %d", e.Status) }

// upstreamRequest builds the request a fill sends. It outlives the client's request: a fill
// that others wait on is not cancelled when its first client goes away.
func (c *Cache) upstreamRequest(p *Policy, r *http.Request, e *Entry) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	req := c.Forward(ctx, p, r, http.MethodGet)
	for _, h := range []string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"} {
		req.Header.Del(h)
	}
	if e.Meta != nil && e.Meta.Kind == RecordObject {
		if etag := e.Meta.Header.Get("Etag"); etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		if lm := e.Meta.Header.Get("Last-Modified"); lm != "" {
			req.Header.Set("If-Modified-Since", lm)
		}
	}
	return req, cancel
}

// Forward copies a client request for an upstream, as a proxy does: hop-by-hop fields
// removed, Via and X-Forwarded-* added. The upstream sees only a Host the cache key holds (see
// Keyer.UpstreamHost), and none of the fields that make frameworks serve another URL, method
// or host than the one keyed, unless the domain keys on them.
func (c *Cache) Forward(ctx context.Context, p *Policy, r *http.Request, method string) *http.Request {
	u := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.Header.Clone(),
		Host:       p.Keys.UpstreamHost(r.Host),
		RemoteAddr: r.RemoteAddr,
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	httpcache.RemoveHopByHop(req.Header)
	req.Header.Add("Via", c.via)
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
	for _, f := range Rerouting {
		if _, ok := req.Header[f]; ok && !p.Keys.Keyed(f) {
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

// Rerouting are request fields that common frameworks and servers obey to serve another path,
// method, host or scheme than the request line and Host say (IIS and Symfony's X-Original-URL,
// method overrides, Forwarded's host=...). The cache does not key on them, so none reaches an
// upstream unless the domain keys on it. X-Forwarded-Host and -Proto are set by Forward.
var Rerouting = []string{
	"X-Original-Url", "X-Rewrite-Url", "X-Original-Uri", "X-Forwarded-Uri", "X-Forwarded-Path",
	"X-Forwarded-Prefix", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	"X-Forwarded-Server", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Ssl",
	"X-Url-Scheme", "Front-End-Https", "X-Host", "X-Original-Host", "Forwarded",
}

// fillOpts say how one fill goes upstream.
type fillOpts struct {
	noPick     bool     // this node owns the key: see Request.NoPick
	to         Upstream // this upstream, not the Picker's choice (a derived variant's owner)
	derived    bool     // a derived variant fetched whole: stored at e.Key, whatever it varies on
	noFallback bool     // when the upstream fails, fail: the origin cannot answer this URL itself
}

// fetch fills e from upstream. forget ends the flight; fetch calls it only for a body it
// streams into the store, once that is settled.
func (c *Cache) fetch(p *Policy, r *http.Request, e *Entry, o fillOpts, forget func()) Result {
	req, cancel := c.upstreamRequest(p, r, e)
	return c.fetchWith(p, req, cancel, e, o, forget)
}

// fetchWith sends req (it owns cancel) to whoever the Picker names, the origin otherwise or
// when that fails, and stores the answer (a picked Copier's only when it says so).
func (c *Cache) fetchWith(p *Policy, req *http.Request, cancel context.CancelFunc, e *Entry, o fillOpts, forget func()) Result {
	haveStale := e.Meta != nil && e.Meta.Kind == RecordObject
	reqTime := c.now()
	resp, up, err := c.send(p, req, e.Primary, o)
	if err != nil {
		cancel()
		return Result{Kind: Failed, Err: err}
	}
	respTime := c.now()
	res := Result{Status: httpcache.Status{FwdStatus: resp.StatusCode}, Body: Body{Size: -1}}
	if prior := resp.Header["Cache-Status"]; len(prior) > 0 {
		// What the upstream cache (a peer, a parent) said of its answer: shown in front of
		// ours for this response, never stored with the object.
		res.Status.Prior = strings.Join(prior, ", ")
		delete(resp.Header, "Cache-Status")
	}
	keep := true
	if cp, ok := up.(Copier); ok {
		keep = cp.KeepCopy(e.Primary)
	}
	if !keep && sentCoding(req) {
		// The owner was asked in the client's coding (see send), and its answer is not kept:
		// it is shared with the waiters that accept the same codings, and no one else.
		httpcache.RemoveHopByHop(resp.Header)
		resp.Header.Del("Content-Length")
		m := &Meta{Kind: RecordObject, Status: resp.StatusCode, Primary: e.Primary, Header: resp.Header,
			RequestTime: reqTime.UnixNano(), ResponseTime: respTime.UnixNano(),
			InitialAge: httpcache.InitialAge(resp.Header, reqTime, respTime), VaryFields: codingField}
		res.Meta, res.Key, res.varyKey = m, e.Key, httpcache.VaryKey(codingField, req.Header)
		resp.Body = newIdleReader(resp.Body, cancel, p.IdleTimeout)
		return c.passOn(resp, res)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && haveStale:
		drain(resp, cancel)
		return c.refreshed(p, req, e, resp.Header, reqTime, respTime, res)
	case haveStale && isServerError(resp.StatusCode) && c.StaleAllowed(p, e.Meta, respTime):
		drain(resp, cancel)
		res.Kind, res.Err = Failed, &StatusError{resp.StatusCode}
		return res
	}
	httpcache.RemoveHopByHop(resp.Header)
	m, fr := c.evaluate(p, req, e.Primary, resp.StatusCode, resp.Header, reqTime, respTime)
	res.Meta, res.Key = m, e.Key
	resp.Body = newIdleReader(resp.Body, cancel, p.IdleTimeout)
	key := e.Key
	if len(m.VaryFields) > 0 && !o.derived {
		res.varyKey = httpcache.VaryKey(m.VaryFields, req.Header)
		key = VariantKey(e.Primary, res.varyKey)
		res.Key = key
	}
	if !fr.Storable || (c.maxObject > 0 && resp.ContentLength > c.maxObject) {
		if !requestBound(fr.Reason) && keep {
			c.markPass(e.Key, respTime)
		}
		res.Kind, res.Body = Uncacheable, Body{RC: resp.Body, Size: resp.ContentLength}
		return res
	}
	if !keep {
		return c.passOn(resp, res)
	}
	if o.derived {
		m.VaryFields = nil // the derived key holds what it varied on (the negotiated format)
	}
	return c.storeBody(e, key, m, resp, res, forget)
}

// passOn answers with a storable response that is not kept here (a cold object a peer owns):
// read whole when small, so that coalesced waiters share it; streamed to this request alone
// when larger.
func (c *Cache) passOn(resp *http.Response, res Result) Result {
	body, small, err := c.readSmall(resp)
	switch {
	case err != nil:
		return Result{Kind: Failed, Err: err, Status: res.Status}
	case small:
		res.Kind, res.Body = Fetched, Body{Bytes: body, Size: int64(len(body))}
		return res
	}
	res.Kind, res.Body = Uncacheable, Body{RC: resp.Body, Size: resp.ContentLength}
	return res
}

// readSmall reads a body whole when it holds at most the memory object limit (small; the
// body is closed); a larger one stays readable from resp.Body, its first bytes put back. A
// body that fails half way is an error, and closed.
func (c *Cache) readSmall(resp *http.Response) (body []byte, small bool, err error) {
	if resp.ContentLength >= 0 && resp.ContentLength > c.memObjMax {
		return nil, false, nil
	}
	body, err = readUpTo(resp.Body, c.memObjMax)
	if err != nil {
		resp.Body.Close()
		c.Stats.FetchErrors.Add(1)
		return nil, false, fmt.Errorf("reading the upstream body: %w", err)
	}
	if int64(len(body)) <= c.memObjMax {
		resp.Body.Close()
		return body, true, nil
	}
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
	return nil, false, nil
}

// codingField is what an answer in the client's coding varies on.
var codingField = []string{"Accept-Encoding"}

// sentCoding reports whether req went upstream with the client's Accept-Encoding (send leaves
// it on the request it sent to a peer whose answer is not kept).
func sentCoding(req *http.Request) bool { return len(req.Header["Accept-Encoding"]) > 0 }

// send asks the picked upstream (or o.to), then the domain's origin when none is picked or
// the pick fails. It returns who answered. Where the node makes content codings itself, an
// upstream whose answer is kept is asked for identity (one stored copy serves every client);
// a peer whose answer is not kept is asked in the client's coding, which it has stored.
func (c *Cache) send(p *Policy, req *http.Request, primary string, o fillOpts) (*http.Response, Upstream, error) {
	ae := req.Header["Accept-Encoding"]
	if p.Codings {
		delete(req.Header, "Accept-Encoding")
	}
	up := o.to
	if up == nil && c.picker != nil {
		if u, ok := c.picker.Pick(p.Name, primary, o.noPick); ok {
			up = u
		}
	}
	if up != nil {
		c.Stats.PeerFetches.Add(1)
		if cp, ok := up.(Copier); ok && p.Codings && len(ae) > 0 && !cp.KeepCopy(primary) {
			req.Header["Accept-Encoding"] = ae
		}
		resp, err := c.sendTo(p, up, req)
		if err == nil {
			return resp, up, nil
		}
		if p.Codings {
			delete(req.Header, "Accept-Encoding")
		}
		c.Stats.PeerErrors.Add(1)
		if o.noFallback {
			return nil, up, err
		}
		c.log.Debug("upstream failed, asking the origin", "upstream", up.Name(), "err", err)
	}
	origin := originUpstream{p.Origin}
	resp, err := c.sendTo(p, origin, req)
	return resp, origin, err
}

func (c *Cache) sendTo(p *Policy, up Upstream, req *http.Request) (*http.Response, error) {
	c.Stats.Fetches.Add(1)
	start := time.Now()
	resp, err := up.Fetch(req)
	if p.Observer != nil {
		p.Observer.Fetched(up, resp, err, time.Since(start))
	}
	if err != nil {
		c.Stats.FetchErrors.Add(1)
	}
	return resp, err
}

func isServerError(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}

func drain(resp *http.Response, cancel context.CancelFunc) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	cancel()
}

// evaluate decides freshness for an upstream response and builds its stored metadata: the
// origin's verdict, then the domain's status TTLs and path rules on top.
func (c *Cache) evaluate(p *Policy, req *http.Request, primary string, status int, h http.Header, reqTime, respTime time.Time) (*Meta, httpcache.Freshness) {
	fr := httpcache.Evaluate(http.MethodGet, req.Header, status, h, respTime, p.Heuristic)
	ttl, named := p.StatusTTL[status]
	if named && overridable(fr) {
		fr.Storable, fr.Reason, fr.TTL, fr.NoCache = true, "", ttl, false
	} else if p.RuleTTL != nil && fr.Storable {
		if ttl, ok := p.RuleTTL(req.URL.Path); ok {
			fr.TTL, fr.NoCache, fr.Heuristic = ttl, false, false
		}
	}
	if status >= 500 && !named {
		// A brief origin fault must not be pinned for the lifetime the origin (or a path
		// rule meant for good answers) gave it.
		fr.TTL, fr.StaleWhileRevalidate = min(fr.TTL, p.MaxErrorTTL), min(fr.StaleWhileRevalidate, p.MaxErrorTTL)
	}
	for _, f := range fr.OmitFields { // private="..." and no-cache="..." fields are not stored
		h.Del(f)
	}
	h.Del("Content-Length")
	h["Via"] = append(h["Via"], c.via)
	m := &Meta{
		Primary:        primary,
		Tags:           purgeTags(h),
		Kind:           RecordObject,
		Status:         status,
		MustRevalidate: fr.MustRevalidate,
		NoCache:        fr.NoCache,
		RequestTime:    reqTime.UnixNano(),
		ResponseTime:   respTime.UnixNano(),
		InitialAge:     httpcache.InitialAge(h, reqTime, respTime),
		TTL:            fr.TTL,
		SWR:            fr.StaleWhileRevalidate,
		SIE:            fr.StaleIfError,
		Header:         h,
	}
	if p.Codings && compress.CompressibleType(h.Get("Content-Type"), h.Get("Content-Encoding")) && !httpcache.NoTransform(h) {
		httpcache.AddVary(h, "Accept-Encoding") // the node answers with a coding or without, by the request
	}
	if fields, star := httpcache.VaryFields(h); !star {
		if p.Codings {
			// Fills ask for identity whatever the client sent: the upstream's answer does
			// not vary on it here, and one stored copy serves all.
			fields = slices.DeleteFunc(fields, func(f string) bool { return f == "Accept-Encoding" })
		}
		m.VaryFields = fields
	}
	if fr.Storable {
		c.bans.noteLifetime(m.TTL + max(m.SWR, m.SIE, p.StaleIfOriginDown))
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
func (c *Cache) refreshed(p *Policy, req *http.Request, e *Entry, h304 http.Header, reqTime, respTime time.Time, res Result) Result {
	h := httpcache.MergeNotModified(e.Meta.Header, h304)
	h["Via"] = slices.DeleteFunc(slices.Clone(h["Via"]), func(v string) bool { return v == c.via })
	if h["Surrogate-Key"] == nil && h["Cache-Tag"] == nil {
		h["Surrogate-Key"] = e.Meta.Tags // a 304 need not repeat them: keep the object's tags
	}
	m, _ := c.evaluate(p, req, e.Primary, e.Meta.Status, h, reqTime, respTime)
	m.VaryFields = e.Meta.VaryFields
	if err := c.store.UpdateMeta(e.Key, m.Encode()); err == nil {
		res.Status.Stored = true
	} else {
		c.Stats.StoreErrors.Add(1)
	}
	res.Kind, res.Meta, res.Key = NotModified, m, e.Key
	return res
}

// markPass remembers for a short while that a key's responses are not cacheable, so that
// requests for it go upstream side by side instead of queueing behind each other.
func (c *Cache) markPass(key string, now time.Time) {
	m := &Meta{Kind: RecordPass, ResponseTime: now.UnixNano(), TTL: passTTL}
	if err := c.store.Put(key, m.Encode(), nil); err != nil {
		c.Stats.StoreErrors.Add(1)
	}
}

const passTTL = 10 * time.Second

// storeBody reads and stores the body: whole when it is small, streamed through a store
// Writer (with every client following it) when it is large or of unknown length beyond the
// memory object limit. A body that fails half way is never stored.
func (c *Cache) storeBody(e *Entry, key string, m *Meta, resp *http.Response, res Result, forget func()) Result {
	body, small, err := c.readSmall(resp)
	switch {
	case err != nil:
		return Result{Kind: Failed, Err: err, Status: res.Status}
	case small:
		res.Kind, res.Body = Fetched, Body{Bytes: body, Size: int64(len(body))}
		res.Status.Stored = c.put(e, key, m, body)
		return res
	}
	w, err := c.store.Begin(key, m.Encode(), resp.ContentLength)
	if err != nil {
		if !errors.Is(err, store.ErrTooLarge) {
			c.Stats.StoreErrors.Add(1)
		}
		res.Kind, res.Body = Uncacheable, Body{RC: resp.Body, Size: resp.ContentLength}
		return res
	}
	c.putVaryMarker(e, m)
	res.Kind, res.Body, res.Status.Stored = Fetched, Body{W: w, Size: resp.ContentLength}, true
	go c.copyToStore(w, resp, forget)
	return res
}

// copyToStore streams the upstream body into the store. The flight ends before an abort
// (requests after it fetch anew) and after a commit (requests until then follow the writer).
func (c *Cache) copyToStore(w *store.Writer, resp *http.Response, forget func()) {
	defer resp.Body.Close()
	bp := CopyBuffers.Get().(*[]byte)
	defer CopyBuffers.Put(bp)
	if _, err := io.CopyBuffer(w, resp.Body, *bp); err != nil {
		forget()
		w.Abort()
		c.Stats.FetchErrors.Add(1)
		c.log.Warn("fill aborted", "err", err)
		return
	}
	err := w.Commit()
	forget()
	if err != nil {
		c.Stats.StoreErrors.Add(1)
		c.log.Warn("store commit failed", "err", err)
	}
}

func (c *Cache) put(e *Entry, key string, m *Meta, body []byte) bool {
	if err := c.store.Put(key, m.Encode(), body); err != nil {
		c.Stats.StoreErrors.Add(1)
		return false
	}
	c.putVaryMarker(e, m)
	return true
}

// putVaryMarker records at the URL's key which request fields its responses vary on.
func (c *Cache) putVaryMarker(e *Entry, m *Meta) {
	if len(m.VaryFields) == 0 {
		return
	}
	mk := &Meta{Kind: RecordVary, ResponseTime: m.ResponseTime, TTL: 365 * 24 * time.Hour, VaryFields: m.VaryFields}
	if err := c.store.Put(e.Primary, mk.Encode(), nil); err != nil {
		c.Stats.StoreErrors.Add(1)
	}
}

// purgeTags reads the tags an origin gave a response and removes the fields: they are for
// this cache, not for browsers.
func purgeTags(h map[string][]string) []string {
	var tags []string
	for _, f := range []string{"Surrogate-Key", "Cache-Tag"} {
		for _, v := range h[f] {
			for _, t := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		delete(h, f)
	}
	return tags
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

// CopyBuffers are the 32 KiB buffers bodies are copied through.
var CopyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// idleReader cancels an upstream body whose bytes stop coming for longer than idle, so a
// stalled upstream cannot hold a fill (and everyone waiting on it) forever.
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
