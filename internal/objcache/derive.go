package objcache

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// A derived variant is a representation the node makes from a cached source object: a content
// coding of a text body, a transformed image. It is stored under its own key next to the source,
// with the source's freshness, primary key and tags (so it expires and is purged with it), its
// own header and a strong ETag of its own bytes, and the validator of the source it was made
// from (Meta.Source), so that a source revalidated unchanged keeps its variants.

// DerivedKey is the key of the variant named token of the object stored at base.
func DerivedKey(base, token string) string { return base + "\x00d\x00" + token }

// SourceTag names the version of a source body: its ETag, else Last-Modified and size, else
// the time it was fetched (a refetch without validators counts as a new version).
func SourceTag(m *Meta, size int64) string {
	if et := m.Header.Get("Etag"); et != "" {
		return "e" + et
	}
	if lm := m.Header.Get("Last-Modified"); lm != "" {
		return "l" + lm + "/" + strconv.FormatInt(size, 10)
	}
	return "t" + strconv.FormatInt(m.ResponseTime, 10)
}

// BodyETag is a strong entity tag for exactly these bytes.
func BodyETag(b []byte) string {
	return `"` + strconv.FormatUint(xxhash.Sum64(b), 36) + "-" + strconv.Itoa(len(b)) + `"`
}

// DerivedHeader starts a variant's header from its source's: fields that describe the
// source's bytes are dropped, the rest (Cache-Control, Last-Modified, tags...) carry over.
func DerivedHeader(src http.Header) http.Header {
	h := src.Clone()
	for _, f := range []string{"Content-Length", "Etag", "Content-Encoding", "Content-Md5", "Digest", "Content-Range", "Accept-Ranges"} {
		delete(h, f)
	}
	return h
}

// DerivedMeta is the metadata of a variant of src with header h, made from source version tag.
func DerivedMeta(src *Meta, h http.Header, tag string) *Meta {
	m := &Meta{Kind: RecordObject, Status: http.StatusOK, Primary: src.Primary, Tags: src.Tags, Source: tag, Header: h}
	m.takeFreshness(src)
	return m
}

// takeFreshness copies src's freshness into m.
func (m *Meta) takeFreshness(src *Meta) {
	m.MustRevalidate, m.NoCache = src.MustRevalidate, src.NoCache
	m.RequestTime, m.ResponseTime, m.InitialAge = src.RequestTime, src.ResponseTime, src.InitialAge
	m.TTL, m.SWR, m.SIE = src.TTL, src.SWR, src.SIE
}

func sameFreshness(a, b *Meta) bool {
	return a.ResponseTime == b.ResponseTime && a.TTL == b.TTL && a.InitialAge == b.InitialAge &&
		a.MustRevalidate == b.MustRevalidate && a.NoCache == b.NoCache && a.SWR == b.SWR && a.SIE == b.SIE
}

// Variant returns the variant stored at key when it was made from the source version tag,
// else a miss. A variant of a source revalidated since takes the source's new freshness
// (stored back, best effort) instead of being made again. The caller releases the entry.
func (c *Cache) Variant(key string, src *Meta, tag string) Entry {
	e := Entry{Primary: src.Primary, Key: key, Fwd: "miss"}
	obj, m := c.get(key)
	if obj == nil {
		return e
	}
	if m.Kind != RecordObject || m.Source != tag {
		obj.Release()
		return e
	}
	if !sameFreshness(m, src) {
		m = c.RefreshVariant(key, m, src)
	}
	e.Obj, e.Meta = obj, m
	return e
}

// RefreshVariant gives the variant v stored at key its source's current freshness.
func (c *Cache) RefreshVariant(key string, v, src *Meta) *Meta {
	nm := &Meta{Kind: v.Kind, Status: v.Status, Primary: v.Primary, Tags: src.Tags, Source: v.Source, Header: v.Header}
	nm.takeFreshness(src)
	if err := c.store.UpdateMeta(key, nm.Encode()); err != nil {
		c.Stats.StoreErrors.Add(1)
	}
	return nm
}

// Made is a variant a MakeFunc made: its metadata and body, whether it may be stored (its
// source was), whether it is a stale copy standing in for one that could not be made (the
// origin is down), and a Cache-Status detail of its own (the variant was reused, say).
type Made struct {
	Meta     *Meta
	Body     []byte
	Storable bool
	Stale    bool
	Detail   string
}

// MakeFunc makes a variant. It runs once per key however many clients ask, detached from the
// first client's cancellation, since the others wait on it; ctx ends with ErrAbandoned
// when every client that asked has gone.
type MakeFunc func(ctx context.Context) (Made, error)

// Make makes the variant at key, or waits for the request already making it, and stores what
// was made when it may be stored. The result is Fetched (Body.Bytes; Status.Stored,
// Status.Collapsed, Status.Detail), Stale (a stale copy stands in) or Failed: the make's error,
// ErrAbandoned, or ErrGone when r's client went away first. The work stops when every client
// that wanted it is gone; a client that joined just then does the work itself.
func (c *Cache) Make(r *http.Request, key string, mk MakeFunc) Result {
	for attempt := 0; ; attempt++ {
		f, leader := c.flights.joinMade(key, r.Context())
		if leader {
			stop := context.AfterFunc(r.Context(), f.leave)
			res := c.make(f.ctx, key, mk)
			if stop() {
				f.leave()
			}
			f.abandon(nil)
			c.flights.finish(key, f, res)
			return res
		}
		c.Stats.Coalesced.Add(1)
		select {
		case <-f.done:
			f.leave()
		case <-r.Context().Done():
			f.leave()
			return Result{Kind: Failed, Err: ErrGone}
		}
		if !errors.Is(f.res.Err, ErrAbandoned) || attempt > 0 {
			res := f.res
			res.Status.Collapsed = true
			return res
		}
	}
}

// make runs mk and stores what it made when it may be stored.
func (c *Cache) make(ctx context.Context, key string, mk MakeFunc) Result {
	v, err := mk(ctx)
	if err != nil {
		if context.Cause(ctx) == ErrAbandoned {
			err = ErrAbandoned
		}
		return Result{Kind: Failed, Err: err, Body: Body{Size: -1}}
	}
	res := Result{Kind: Fetched, Key: key, Meta: v.Meta, Body: Body{Bytes: v.Body, Size: int64(len(v.Body))}}
	res.Status.Detail = v.Detail
	if v.Stale {
		res.Kind = Stale
		return res
	}
	if v.Storable {
		res.Status.Stored = c.putVariant(key, v.Meta, v.Body)
	}
	return res
}

func (c *Cache) putVariant(key string, m *Meta, body []byte) bool {
	if err := c.store.Put(key, m.Encode(), body); err != nil {
		c.Stats.StoreErrors.Add(1)
		return false
	}
	return true
}

// DeriveFunc makes a derived variant for request r. stale is the variant stored at its key
// past its freshness (no object when there is none): reused when its source turns out
// unchanged, or standing in while the origin is down. It is valid during the call.
type DeriveFunc func(ctx context.Context, r *http.Request, stale *Entry) (Made, error)

// GetDerived answers a request for the derived variant at key of the source req.Primary: the
// stored variant when it is fresh; stale while it is made again in the background when
// stale-while-revalidate allows (one remake per key); else, when the Picker names another
// node as the key's owner, fetched from it whole (so a POP makes each variant once); else made
// here once however many clients ask (Make). The caller releases the result.
func (c *Cache) GetDerived(p *Policy, req *Request, key string, mk DeriveFunc) Result {
	r, now := req.HTTP, req.Now
	if now.IsZero() {
		now = c.now()
	}
	e := c.Lookup(p, key)
	if e.Obj != nil && e.Meta.Kind == RecordObject && !e.Meta.NoCache {
		m := e.Meta
		if m.Fresh(now) {
			c.Stats.Hits.Add(1)
			return hit(&e, httpcache.Status{Hit: true, TTL: m.Remaining(now), HasTTL: true})
		}
		if !m.MustRevalidate && -m.Remaining(now) < m.SWR {
			c.Stats.Stale.Add(1)
			// The remake outlives this request, whose header and URL the server reuses for
			// the connection's next one: it works on a deep copy.
			bg := r.Clone(context.WithoutCancel(r.Context()))
			c.remakeInBackground(key, func(ctx context.Context) (Made, error) {
				own := c.Lookup(p, key) // a handle of its own: e's is released by the caller
				defer own.Release()
				return mk(ctx, bg, &own)
			})
			return hit(&e, httpcache.Status{Hit: true, TTL: m.Remaining(now), HasTTL: true, Detail: "stale-while-revalidate"})
		}
	}
	defer e.Release() // Make returns when the variant is made: the stale copy is no longer read
	if c.picker != nil && !req.NoPick {
		if up, ok := c.picker.Pick(p.Name, key, false); ok {
			if res, ok := c.deriveFrom(p, req, key, up); ok {
				return res
			}
		}
	}
	return c.Make(r, key, func(ctx context.Context) (Made, error) { return mk(ctx, r, &e) })
}

// deriveFrom fetches the variant at key from the node that owns it, which makes it (once for
// the POP) or has it; ok is false when that failed and the variant should be made here.
func (c *Cache) deriveFrom(p *Policy, req *Request, key string, up Upstream) (Result, bool) {
	f, leader := c.flights.join(key)
	if !leader {
		c.Stats.Coalesced.Add(1)
		select {
		case <-f.done:
		case <-req.HTTP.Context().Done():
			return Result{Kind: Failed, Err: ErrGone}, true
		}
		if res := f.res; res.Kind == Fetched {
			res.shared, res.Status.Collapsed = true, true
			return res, true
		}
		return Result{}, false
	}
	e := Entry{Primary: req.Primary, Key: key, Fwd: "miss"}
	ureq, cancel := c.upstreamRequest(p, req.HTTP, &e)
	res := c.fetchWith(p, ureq, cancel, &e, fillOpts{to: up, derived: true, noFallback: true}, func() { c.flights.forget(key, f) })
	c.flights.finish(key, f, res)
	if res.Kind != Fetched && res.Kind != Uncacheable {
		return Result{}, false
	}
	res.Status.Fwd, res.Status.Detail = "miss", "owner-made"
	return res, true
}

// remakeInBackground makes the variant at key again while its stale copy is served. At most
// one remake per key runs at a time.
func (c *Cache) remakeInBackground(key string, mk MakeFunc) {
	f, leader := c.flights.join(key)
	if !leader {
		return
	}
	go func() { c.flights.finish(key, f, c.make(context.Background(), key, mk)) }()
}
