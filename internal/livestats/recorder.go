package livestats

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

// Recorder counts an edge's requests by domain for the live view. Request and OriginRequest
// are the hot path: safe for concurrent use, they allocate nothing, take no lock and write no
// map, only a few atomic words of the calling CPU's shard. SetDomains and Sample are for
// config reloads and the once-a-second sampler; they serialise among themselves.
//
// The zero Recorder is not usable: call NewRecorder.
type Recorder struct {
	table   atomic.Pointer[domainTable]
	nShards int
	next    atomic.Uint32
	handles sync.Pool // *shardHandle: see shard

	top      topURLs
	mu       sync.Mutex     // SetDomains, Sample
	retired  []*domainCells // dropped by SetDomains, reported once more by the next Sample
	prevTime time.Time
	proc     procReader
}

// domainTable maps the configured names to their cells. It is never changed once published:
// SetDomains builds a new one, so the request path reads it without a lock.
type domainTable struct {
	byName  map[string]*domainCells
	unknown *domainCells // "" and any name not configured
	all     []*domainCells
}

// domainCells is one domain's counts, sharded by CPU.
type domainCells struct {
	name   string
	shards []cells
	prev   counts // the reading the last Sample subtracted; guarded by Recorder.mu
}

// cells is one shard of a domain's counts. There is no request counter: the histogram's
// counts sum to it, and on some VMs each atomic add costs 10-15 ns. The padding keeps shards,
// which different CPUs write, off each other's cache lines.
type cells struct {
	_                             [64]byte
	bytes, hits, hitBytes, errors atomic.Uint64
	originRequests, originErrors  atomic.Uint64
	hist                          [nBuckets]atomic.Uint64
	_                             [64]byte
}

type shardHandle struct{ i int }

// maxShards bounds the memory of a domain (about 1 KB a shard).
const maxShards = 8

// NewRecorder returns a Recorder that knows no domain yet: everything counts as "" until
// SetDomains.
func NewRecorder() *Recorder {
	r := &Recorder{nShards: min(runtime.GOMAXPROCS(0), maxShards), prevTime: time.Now()}
	// The shard comes from a sync.Pool, whose Get and Put use the calling P's own slot, so a
	// CPU keeps writing the same shard without a shared write to find it (as in
	// internal/metrics' request counts). A handle the GC drops is replaced by the next shard
	// in turn: that can only add sharing, never lose a count.
	r.handles.New = func() any { return &shardHandle{i: int(r.next.Add(1)-1) % r.nShards} }
	unknown := r.newCells("")
	r.table.Store(&domainTable{byName: map[string]*domainCells{}, unknown: unknown, all: []*domainCells{unknown}})
	r.proc.init()
	return r
}

func (r *Recorder) newCells(name string) *domainCells {
	return &domainCells{name: name, shards: make([]cells, r.nShards)}
}

// SetDomains makes names the configured domains. Names that stay keep their counts; a name
// that goes is reported by the next Sample with what it counted until then (a request racing
// with its removal may be lost).
func (r *Recorder) SetDomains(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.table.Load()
	t := &domainTable{byName: make(map[string]*domainCells, len(names)), unknown: old.unknown}
	t.all = append(t.all, t.unknown)
	for _, n := range names {
		if n == "" || t.byName[n] != nil {
			continue
		}
		dc := old.byName[n]
		if dc == nil {
			dc = r.newCells(n)
		}
		t.byName[n] = dc
		t.all = append(t.all, dc)
	}
	for n, dc := range old.byName {
		if t.byName[n] == nil {
			r.retired = append(r.retired, dc)
		}
	}
	r.table.Store(t)
}

// shard is the calling CPU's shard of domain's cells.
func (r *Recorder) shard(domain string) *cells {
	t := r.table.Load()
	dc := t.byName[domain]
	if dc == nil {
		dc = t.unknown
	}
	h := r.handles.Get().(*shardHandle)
	c := &dc.shards[h.i]
	r.handles.Put(h)
	return c
}

// Request counts one finished request. It does not keep ri.
func (r *Recorder) Request(ri *metrics.RequestInfo) {
	c := r.shard(ri.Domain)
	n := uint64(max(ri.BytesSent, 0))
	c.hist[bucketOf(ri.Duration)].Add(1)
	c.bytes.Add(n)
	if ri.CacheStatus == "hit" || ri.CacheStatus == "stale" {
		c.hits.Add(1)
		c.hitBytes.Add(n)
	}
	if ri.Status >= 500 {
		c.errors.Add(1)
	}
}

// OriginRequest counts one exchange of domain with its origin; failed says it failed or
// answered 5xx.
func (r *Recorder) OriginRequest(domain string, failed bool) {
	c := r.shard(domain)
	c.originRequests.Add(1)
	if failed {
		c.originErrors.Add(1)
	}
}

// read sums the shards' counters as they stand.
func (dc *domainCells) read() counts {
	var t counts
	for i := range dc.shards {
		c := &dc.shards[i]
		t.bytes += c.bytes.Load()
		t.hits += c.hits.Load()
		t.hitBytes += c.hitBytes.Load()
		t.errors += c.errors.Load()
		t.originRequests += c.originRequests.Load()
		t.originErrors += c.originErrors.Load()
		for b := range c.hist {
			n := c.hist[b].Load()
			t.hist[b] += n
			t.requests += n
		}
	}
	return t
}

// delta is what dc counted since the previous call. The caller holds Recorder.mu.
func (dc *domainCells) delta() counts {
	cur := dc.read()
	d := cur.sub(&dc.prev)
	dc.prev = cur
	return d
}

// URL notes one request for path on domain (the configured name) with the body bytes it sent,
// for the interval's top URLs. It costs one atomic add, and a short lock for one request in
// sampleEvery.
func (r *Recorder) URL(domain, path string, bytes int64) { r.top.note(domain, path, bytes) }

// Sample reports what was counted since the previous call (or NewRecorder), as ending at now,
// with the process's CPU and memory use. It leaves Node and POP for the caller to fill. Call
// it from one goroutine once a second; it takes about a microsecond per domain.
func (r *Recorder) Sample(now time.Time) Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	byName := map[string]*counts{}
	var total counts
	for _, dc := range slices.Concat(r.table.Load().all, r.retired) {
		d := dc.delta()
		if d.empty() {
			continue
		}
		total.add(&d)
		if acc := byName[dc.name]; acc != nil { // a name dropped and added again since the last Sample
			acc.add(&d)
		} else {
			byName[dc.name] = &d
		}
	}
	r.retired = nil
	s := Sample{Time: now.Unix(), Interval: now.Sub(r.prevTime).Seconds()}
	r.prevTime = now
	s.Totals = r.proc.totals(s.Interval)
	s.Totals.Counters = total.counters()
	s.TopURLs = r.top.take()
	if len(byName) > 0 {
		s.Domains = make(map[string]DomainStats, len(byName))
		for n, c := range byName {
			s.Domains[n] = DomainStats{Counters: c.counters(), Hist: c.sparse()}
		}
	}
	return s
}
