package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// A derived variant is a representation the edge makes from a cached source object: a content
// coding of a text body, a transformed image. It is stored under its own key next to the source,
// with the source's freshness, primary key and tags (so it expires and is purged with it), its
// own header and a strong ETag of its own bytes, and the validator of the source it was made
// from (meta.source), so that a source revalidated unchanged keeps its variants.

// derivedKey is the key of the variant named token of the object stored at base.
func derivedKey(base, token string) string { return base + "\x00d\x00" + token }

// sourceTag names the version of a source body: its ETag, else Last-Modified and size, else
// the time it was fetched (a refetch without validators counts as a new version).
func sourceTag(m *meta, size int64) string {
	if et := m.header.Get("Etag"); et != "" {
		return "e" + et
	}
	if lm := m.header.Get("Last-Modified"); lm != "" {
		return "l" + lm + "/" + strconv.FormatInt(size, 10)
	}
	return "t" + strconv.FormatInt(m.responseTime, 10)
}

// bodyETag is a strong entity tag for exactly these bytes.
func bodyETag(b []byte) string {
	return `"` + strconv.FormatUint(xxhash.Sum64(b), 36) + "-" + strconv.Itoa(len(b)) + `"`
}

// derivedHeader starts a variant's header from its source's: fields that describe the source's
// bytes are dropped, the rest (Cache-Control, Last-Modified, tags...) carry over.
func derivedHeader(src http.Header) http.Header {
	h := src.Clone()
	for _, f := range []string{"Content-Length", "Etag", "Content-Encoding", "Content-Md5", "Digest", "Content-Range", "Accept-Ranges"} {
		delete(h, f)
	}
	return h
}

// addVary adds field to h's Vary unless it is there already.
func addVary(h http.Header, field string) {
	for _, line := range h["Vary"] {
		for f := range strings.SplitSeq(line, ",") {
			if strings.EqualFold(strings.TrimSpace(f), field) {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], field)
}

// derivedMeta is the metadata of a variant of src with header h.
func derivedMeta(src *meta, h http.Header, tag string) *meta {
	m := &meta{kind: kindObject, status: http.StatusOK, primary: src.primary, tags: src.tags, source: tag, header: h}
	m.takeFreshness(src)
	return m
}

// takeFreshness copies src's freshness into m.
func (m *meta) takeFreshness(src *meta) {
	m.mustReval, m.noCache = src.mustReval, src.noCache
	m.requestTime, m.responseTime, m.initialAge = src.requestTime, src.responseTime, src.initialAge
	m.ttl, m.swr, m.sie = src.ttl, src.swr, src.sie
}

func sameFreshness(a, b *meta) bool {
	return a.responseTime == b.responseTime && a.ttl == b.ttl && a.initialAge == b.initialAge &&
		a.mustReval == b.mustReval && a.noCache == b.noCache && a.swr == b.swr && a.sie == b.sie
}

// variantOf returns the variant stored at key when it was made from the source version tag.
// A variant of a source that was revalidated since takes the source's new freshness (stored
// back, best effort) instead of being made again. The caller releases the object.
func (s *Server) variantOf(key string, src *meta, tag string) (*store.Object, *meta) {
	obj, m := s.get(key)
	if obj == nil {
		return nil, nil
	}
	if m.kind != kindObject || m.source != tag {
		obj.Release()
		return nil, nil
	}
	if !sameFreshness(m, src) {
		m = s.refreshVariant(key, m, src)
	}
	return obj, m
}

// refreshVariant gives a variant its source's current freshness.
func (s *Server) refreshVariant(key string, v, src *meta) *meta {
	nm := &meta{kind: v.kind, status: v.status, primary: v.primary, tags: src.tags, source: v.source, header: v.header}
	nm.takeFreshness(src)
	if err := s.store.UpdateMeta(key, nm.encode()); err != nil {
		s.stats.StoreErrors.Add(1)
	}
	return nm
}

// A made variant: its metadata and body, whether it may be stored (its source was), and
// whether it is a stale copy standing in for one that could not be made (origin down).
type made struct {
	m        *meta
	body     []byte
	storable bool
	stale    bool
	detail   string // Cache-Status detail instead of the caller's (e.g. the variant was reused)
}

// makeFunc makes a variant. It runs once per key however many clients ask, detached from the
// first client's cancellation, since the others wait on it.
type makeFunc func(ctx context.Context) (made, error)

// serveMade makes the variant at key (or waits for the request already making it) and
// answers from it. fwd and detail go to Cache-Status.
func (s *Server) serveMade(w http.ResponseWriter, r *http.Request, key, fwd, detail string, mk makeFunc) {
	stop := h1.WatchDisconnect(w) // the native listener notices a client that leaves while we wait
	f, leader := s.awaitMade(r, key, mk)
	stop()
	if f == nil {
		return // the client went away
	}
	res := f.res
	cs := httpcache.Status{Fwd: fwd, Stored: res.stored, Collapsed: !leader, Detail: detail}
	if res.err != nil {
		s.madeFailed(w, r, res.err, cs)
		return
	}
	switch {
	case res.standIn: // a stale variant stands in: res.m is its own, expired freshness
		s.stats.Stale.Add(1)
		cs.Fwd, cs.TTL, cs.HasTTL, cs.Detail = "stale", res.m.remaining(s.now()), true, "origin-error"
	case res.stored:
		cs.TTL, cs.HasTTL = res.m.remaining(s.now()), true
	}
	if res.detail != "" && !res.standIn {
		cs.Detail = res.detail
	}
	s.serveResult(w, r, res, cs, leader)
}

// awaitMade leads or joins the making of the variant at key and returns its finished flight
// (nil when r's client went away first). The work stops when every client that wanted it
// is gone (errAbandoned); a client that joined just then does the work itself.
func (s *Server) awaitMade(r *http.Request, key string, mk makeFunc) (*flight, bool) {
	for attempt := 0; ; attempt++ {
		f, leader := s.flights.joinMade(key, r)
		if leader {
			stop := context.AfterFunc(r.Context(), f.leave)
			res := s.make(f.ctx, key, mk)
			if stop() {
				f.leave()
			}
			f.abandon(nil)
			s.flights.finish(key, f, res)
			return f, true
		}
		s.stats.Coalesced.Add(1)
		select {
		case <-f.done:
			f.leave()
		case <-r.Context().Done():
			f.leave()
			return nil, false
		}
		if !errors.Is(f.res.err, errAbandoned) || attempt > 0 {
			return f, false
		}
	}
}

// make runs mk and stores what it made when it may be stored.
func (s *Server) make(ctx context.Context, key string, mk makeFunc) *fillResult {
	res := &fillResult{size: -1}
	v, err := mk(ctx)
	if err != nil {
		if context.Cause(ctx) == errAbandoned {
			err = errAbandoned
		}
		res.err = err
		return res
	}
	res.m, res.body, res.size, res.standIn = v.m, v.body, int64(len(v.body)), v.stale
	res.detail = v.detail
	if v.storable {
		res.stored = s.putVariant(key, v.m, v.body)
	}
	return res
}

// remakeInBackground makes the variant at key again while its stale copy is served
// (stale-while-revalidate). At most one remake per key runs at a time.
func (s *Server) remakeInBackground(r *http.Request, key string, mk makeFunc) {
	f, leader := s.flights.join(key)
	if !leader {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	go func() { s.flights.finish(key, f, s.make(ctx, key, mk)) }()
}

func (s *Server) putVariant(key string, m *meta, body []byte) bool {
	if err := s.store.Put(key, m.encode(), body); err != nil {
		s.stats.StoreErrors.Add(1)
		return false
	}
	return true
}

// relayedResponse is a source answer other than 200 (404, 502, ...): a variant cannot be made,
// and the client gets the source's answer as it is.
type relayedResponse struct {
	status int
	header http.Header
	body   []byte
}

func (e *relayedResponse) Error() string { return "source answered " + strconv.Itoa(e.status) }

// madeFailed answers a request whose variant could not be made.
func (s *Server) madeFailed(w http.ResponseWriter, r *http.Request, err error, cs httpcache.Status) {
	if rr, ok := err.(*relayedResponse); ok {
		h := w.Header()
		for k, vs := range rr.header {
			h[k] = vs
		}
		h["Content-Length"] = []string{strconv.Itoa(len(rr.body))}
		w.WriteHeader(rr.status)
		if r.Method != http.MethodHead {
			w.Write(rr.body)
		}
		return
	}
	status, reason := statusFor(err)
	if status >= 500 {
		s.log.Warn("making a variant failed", "host", r.Host, "path", r.URL.Path, "status", status, "err", err)
	}
	cs.Detail = reason
	s.writeError(w, status, reason, cs)
}
