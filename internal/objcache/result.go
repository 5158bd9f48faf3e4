package objcache

import (
	"io"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// Kind is what a Get, a Make or a Source found: one case each, with the parts of a Result
// that case sets.
type Kind uint8

const (
	// Hit: a stored object answers (fresh, or stale while a background revalidation runs:
	// Status.Detail says). Meta, Body.Obj.
	Hit Kind = iota
	// NotModified: a stale object was revalidated with a 304 and answers, with new freshness.
	// Meta, Body.Obj.
	NotModified
	// Stale: the upstream failed and a stale object may stand in (stale-if-error, the domain's
	// outage window). Meta, Body.Obj.
	Stale
	// Fetched: the upstream answered and the answer is stored (Status.Stored) or could not be
	// (a store error); a small body whole in Body.Bytes, a large one following the store's
	// writer in Body.W. Meta.
	Fetched
	// Uncacheable: the upstream's answer may not be stored; it streams from Body.RC, which only
	// the request that fetched it reads. Meta.
	Uncacheable
	// Forward: the cache will not answer this request (a hit-for-pass marker, or coalesced
	// fills that were not for it): the caller sends the client's own request upstream.
	Forward
	// Failed: no answer and no stale copy. Err; Status.Detail names the failure.
	Failed
	// WouldBlock: a MemoryOnly request the memory tier cannot answer; nothing was done.
	WouldBlock
)

var kindNames = [...]string{"hit", "not-modified", "stale", "fetched", "uncacheable", "forward", "failed", "would-block"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Result is the outcome of one request to the cache.
type Result struct {
	Kind   Kind
	Key    string // the object's key: the primary, or the Vary variant's key
	Meta   *Meta
	Body   Body
	Status httpcache.Status // what Cache-Status says of this answer (fwd, stored, collapsed, ttl, detail)
	Err    error
	// Upstream is the time this request spent on a fill, fetching or waiting for another's.
	Upstream time.Duration

	varyKey string // a varying fill's VaryKey: which waiters it is for
	shared  bool   // a waiter's copy of the leader's result: Body.RC and Body.Obj are not its own
}

// Body is where a result's bytes come from: exactly one of the first four is set, or none for
// an empty body.
type Body struct {
	Bytes []byte        // the whole body in memory (shared: never modify)
	Obj   *store.Object // a stored object; the Result's holder releases it
	W     *store.Writer // a fill in progress: readers follow it
	RC    io.ReadCloser // an upstream body passed through; its reader closes it
	Size  int64         // -1 while unknown
}

// Release gives back what the result holds: the stored object's handle, an unread upstream
// body. Call it once the answer is written.
func (r *Result) Release() {
	if r.Body.Obj != nil {
		r.Body.Obj.Release()
		r.Body.Obj = nil
	}
	if r.Body.RC != nil {
		r.Body.RC.Close()
		r.Body.RC = nil
	}
}
