package objcache

import (
	"errors"
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// Request is one request to the cache.
type Request struct {
	HTTP    *http.Request // the client's request: its header picks Vary variants; a fill forwards it
	Primary string        // the URL's key (Policy.Keys.Key)
	Now     time.Time     // when to judge freshness first; zero: the cache's clock
	// Revalidate makes a stale object be revalidated before it is used, never served
	// stale-while-revalidate: a derived variant's source, whose variant is stored only when
	// the source is fresh.
	Revalidate bool
	// NoPick fills as the key's owner: the request came from a peer that chose this node, and
	// sending it to another owner could send it round in circles while two nodes' views of the
	// members differ. The Picker is still asked, for a parent tier (Picker's asOwner).
	NoPick bool
	// OnlyIfCached answers from the store or not at all (RFC 9111 5.2.1.7): a miss is Failed
	// with ErrNotCached, and nothing goes upstream.
	OnlyIfCached bool
	// W, when set, is the client's response writer: 103 Early Hints go to it while a fill this
	// request leads waits for the upstream's answer (Policy.RelayHints, HintsFromStore). The
	// cache writes nothing else to it, and nothing once the answer has come.
	W http.ResponseWriter
	// MemoryOnly answers only what needs no wait: a fresh or stale-while-revalidate object
	// in the memory tier. Anything else (the disk tier, a fill, a hit-for-pass marker, an
	// only-if-cached miss the disk might answer) is WouldBlock, with nothing changed and no
	// miss counted, so that the caller can ask again without MemoryOnly where it may wait.
	MemoryOnly bool
	// Inline, with MemoryOnly, is asked about each object found before it answers; false
	// makes it WouldBlock too (the caller would not serve it without waiting).
	Inline InlineFilter
}

// InlineFilter says whether an object found in memory can be served without waiting.
type InlineFilter interface {
	ServesInline(r *http.Request, m *Meta, size int64) bool
}

// inlineOK applies a MemoryOnly request's filter and counts the memory hits it keeps (find
// looked up a Vary marker too when the key is a variant's).
func (c *Cache) inlineOK(req *Request, e *Entry) bool {
	if req.Inline != nil && !req.Inline.ServesInline(req.HTTP, e.Meta, e.Obj.Size()) {
		return false
	}
	n := 1
	if e.Key != e.Primary {
		n = 2
	}
	c.store.CountMemHits(n)
	return true
}

// ErrNotCached is the Failed result of an only-if-cached request the store cannot answer.
var ErrNotCached = errors.New("objcache: not in the cache (only-if-cached)")

// ErrGone is the Failed result of a request whose client went away while it waited.
var ErrGone = errors.New("objcache: the client went away")

// Get answers a GET or HEAD: a fresh hit directly, a stale one while revalidating in the
// background when stale-while-revalidate allows, everything else through one coalesced fill
// per key. The caller releases the result.
func (c *Cache) Get(p *Policy, req *Request) Result {
	var res Result
	c.GetInto(p, req, &res)
	return res
}

// GetInto is Get writing into res, which must be the zero Result: the hit path fills only the
// fields a hit has instead of copying a whole Result back to the caller.
func (c *Cache) GetInto(p *Policy, req *Request, res *Result) {
	for attempt := 0; ; attempt++ {
		e := c.find(req.Primary, req.HTTP.Header, req.MemoryOnly)
		now := req.Now
		if attempt > 0 || now.IsZero() {
			now = c.now() // later attempts follow a wait: read the clock
		}
		if e.Obj != nil && e.Meta.Kind == RecordObject {
			if req.MemoryOnly && c.bans.check(p.Name, e.Meta) != nil {
				e.Release() // a purged object: the request that may wait applies the ban
				res.Kind = WouldBlock
				return
			}
			c.applyBans(p, &e)
		}
		if e.Obj != nil {
			m := e.Meta
			switch {
			case m.Kind == RecordPass && m.Fresh(now) && req.MemoryOnly:
				e.Release()
				res.Kind = WouldBlock
				return
			case m.Kind == RecordPass && m.Fresh(now):
				e.Release()
				res.Kind, res.Status.Fwd, res.Status.Detail = Forward, "miss", "uncacheable"
				return
			case m.Kind == RecordObject && m.Fresh(now) && !m.NoCache:
				if req.MemoryOnly && !c.inlineOK(req, &e) {
					e.Release()
					res.Kind = WouldBlock
					return
				}
				c.Stats.Hits.Add(1)
				res.Kind, res.Key, res.Meta, res.Body.Obj, res.Body.Size = Hit, e.Key, m, e.Obj, e.Obj.Size()
				res.Status.Hit, res.Status.TTL, res.Status.HasTTL = true, m.Remaining(now), true
				return
			case m.Kind == RecordObject && !m.MustRevalidate && !m.NoCache && -m.Remaining(now) < m.SWR && !req.Revalidate:
				if req.MemoryOnly && !c.inlineOK(req, &e) {
					e.Release()
					res.Kind = WouldBlock
					return
				}
				c.Stats.Stale.Add(1)
				c.revalidateInBackground(p, req, e)
				*res = hit(&e, httpcache.Status{Hit: true, TTL: m.Remaining(now), HasTTL: true, Detail: "stale-while-revalidate"})
				return
			}
			if m.Kind != RecordObject {
				e.Release() // an expired hit-for-pass marker: a plain miss
			}
		}
		if req.MemoryOnly {
			e.Release()
			res.Kind = WouldBlock
			return
		}
		if req.OnlyIfCached {
			e.Release()
			res.Kind, res.Err, res.Status.Fwd = Failed, ErrNotCached, e.Fwd
			return
		}
		if attempt == 2 {
			// The fills we joined were not for us (private responses, other variants):
			// stop coalescing and ask upstream directly.
			e.Release()
			res.Kind, res.Status.Fwd = Forward, e.Fwd
			return
		}
		if r, ok := c.fill(p, req, &e); ok {
			*res = r
			return
		}
	}
}

// hit is the answer from a stored object; the result takes e's handle.
func hit(e *Entry, cs httpcache.Status) Result {
	return Result{Kind: Hit, Key: e.Key, Meta: e.Meta, Body: Body{Obj: e.Obj, Size: e.Obj.Size()}, Status: cs}
}

// fill joins or leads the fill of e.Key and answers from its result. ok is false when the
// result is not usable for this request and the caller should look again. It owns e.
func (c *Cache) fill(p *Policy, req *Request, e *Entry) (res Result, ok bool) {
	f, leader := c.flights.join(e.Key)
	start := time.Now()
	if leader {
		res = c.lead(p, req, e, f)
		if res.Kind != Hit {
			c.Stats.Misses.Add(1)
		}
	} else {
		c.Stats.Coalesced.Add(1)
		if p.Observer != nil {
			p.Observer.Coalesced()
		}
		select {
		case <-f.done:
		case <-req.HTTP.Context().Done():
			e.Release()
			return Result{Kind: Failed, Err: ErrGone, Upstream: time.Since(start)}, true
		}
		res = f.res
		res.shared = true
		// Not for us: a response only the leader may read, an object the leader found in the
		// store after all (its handle is the leader's), another variant: look again.
		if res.Kind == Uncacheable || res.Kind == Hit || !res.matches(req.HTTP.Header) {
			e.Release()
			return Result{}, false
		}
	}
	res.Upstream = time.Since(start)
	cs := httpcache.Status{Fwd: e.Fwd, FwdStatus: res.Status.FwdStatus, Stored: res.Status.Stored, Collapsed: !leader, Detail: res.Status.Detail, Prior: res.Status.Prior}
	switch res.Kind {
	case Failed:
		if e.Obj != nil && c.StaleAllowed(p, e.Meta, c.now()) {
			c.Stats.Stale.Add(1)
			now := c.now()
			cs.Fwd, cs.Stored, cs.TTL, cs.HasTTL, cs.Detail = "stale", false, e.Meta.Remaining(now), true, "origin-error"
			stale := hit(e, cs)
			stale.Kind, stale.Upstream, stale.Err = Stale, res.Upstream, res.Err
			return stale, true
		}
		e.Release()
		res.Status = cs
		return res, true
	case NotModified:
		if e.Obj == nil {
			return Result{}, false // revalidated someone else's copy; ours is gone: look again
		}
		cs.Fwd, cs.TTL, cs.HasTTL = "stale", res.Meta.Remaining(c.now()), true
		nm := hit(e, cs)
		nm.Kind, nm.Meta, nm.Upstream = NotModified, res.Meta, res.Upstream
		return nm, true
	case Hit: // the leader found it stored when it looked again
		e.Release()
		res.Status = httpcache.Status{Hit: true, TTL: res.Meta.Remaining(c.now()), HasTTL: true}
		return res, true
	}
	if res.Meta.Kind == RecordObject && res.Status.Stored {
		cs.TTL, cs.HasTTL = res.Meta.Remaining(c.now()), true
	}
	if e.Obj != nil {
		cs.Fwd = "stale"
	}
	e.Release()
	res.Status = cs
	return res, true
}

// matches reports whether a waiter with header h may use a result that varies.
func (r *Result) matches(h http.Header) bool {
	if r.Meta == nil || len(r.Meta.VaryFields) == 0 {
		return true
	}
	return httpcache.VaryKey(r.Meta.VaryFields, h) == r.varyKey
}

// lead runs the fill of a key this request leads. It first looks again: a fill that ended
// between our lookup and our join has already stored what we need.
func (c *Cache) lead(p *Policy, req *Request, e *Entry, f *flight) Result {
	r := req.HTTP
	again := c.find(e.Primary, r.Header, false)
	if again.Obj != nil && again.Meta.Kind == RecordObject {
		c.applyBans(p, &again)
	}
	if again.Obj != nil && again.Meta.Kind == RecordObject && again.Meta.Fresh(c.now()) && !again.Meta.NoCache {
		res := hit(&again, httpcache.Status{})
		c.flights.finish(e.Key, f, res)
		return res
	}
	again.Release()
	key := e.Key
	r, stopHints := c.hintsFor(p, req, e)
	res := c.fetch(p, r, e, fillOpts{noPick: req.NoPick}, func() { c.flights.forget(key, f) })
	stopHints()
	c.flights.finish(key, f, res)
	return res
}

// revalidateInBackground refreshes a stale object while the stale copy is served
// (stale-while-revalidate). At most one revalidation per key runs at a time.
func (c *Cache) revalidateInBackground(p *Policy, req *Request, e Entry) {
	r := req.HTTP
	f, leader := c.flights.join(e.Key)
	if !leader {
		return
	}
	// Look again, as lead does: a revalidation that ended between our lookup and our join
	// has already stored a fresh object.
	if again := c.find(e.Primary, r.Header, false); again.Obj != nil {
		fresh := again.Meta.Kind == RecordObject && again.Meta.Fresh(c.now())
		again.Release()
		if fresh {
			c.flights.finish(e.Key, f, Result{Kind: Hit, Body: Body{Size: -1}})
			return
		}
	}
	bg := Entry{Primary: e.Primary, Key: e.Key, Meta: e.Meta, Fwd: e.Fwd}
	ureq, cancel := c.upstreamRequest(p, r, &bg)
	o := fillOpts{noPick: req.NoPick} // not req itself: the goroutine would move every request to the heap
	go func() {
		res := c.fetchWith(p, ureq, cancel, &bg, o, func() { c.flights.forget(bg.Key, f) })
		c.flights.finish(bg.Key, f, res)
		if res.Body.RC != nil {
			res.Body.RC.Close() // a background fill's pass-through: nobody reads it
		}
	}()
}

// StaleAllowed says whether a stale object may stand in for a failed upstream: never after
// must-revalidate; within the response's stale-if-error, or the domain's outage window.
func (c *Cache) StaleAllowed(p *Policy, m *Meta, now time.Time) bool {
	if m == nil || m.Kind != RecordObject || m.MustRevalidate {
		return false
	}
	over := -m.Remaining(now)
	return over < m.SIE || over < p.StaleIfOriginDown
}
