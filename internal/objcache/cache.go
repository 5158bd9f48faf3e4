package objcache

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/purge"
	"github.com/pixcdn/pixcdn/internal/store"
)

// Config configures a Cache. Zero fields take the defaults given.
type Config struct {
	Node            string           // this node's name, in Via ("1.1 Node"); default "pixcdn"
	Dir             string           // where bans persist; "" = memory only
	MemoryTier      int64            // the store's memory tier, which sizes the metadata memo
	MemoryObjectMax int64            // bodies up to this are read whole; larger ones stream into the store; default 1 MiB
	MaxObject       int64            // larger responses are passed through, not stored; 0 = no limit
	Now             func() time.Time // the clock of freshness; default time.Now
	Logger          *slog.Logger     // default slog.Default()
	Picker          Picker           // who fills a key besides the origin; nil = the origin always
}

// Cache is the HTTP object cache of one node. It is safe for concurrent use.
type Cache struct {
	store     *store.Cache
	memo      metaMemo
	flights   flights
	bans      *bans
	now       func() time.Time
	log       *slog.Logger
	via       string
	memObjMax int64
	maxObject int64
	picker    Picker

	// Stats counts what the cache did; read with Load.
	Stats Stats
}

// Stats are counters of a Cache.
type Stats struct {
	Hits, Misses, Stale, Coalesced    atomic.Int64
	Fetches, FetchErrors, StoreErrors atomic.Int64 // upstream requests (any tier) and their failures
	PeerFetches, PeerErrors           atomic.Int64 // the part of Fetches a Picker chose
}

// New makes a Cache over an open store.
func New(cfg Config, st *store.Cache) (*Cache, error) {
	if cfg.Node == "" {
		cfg.Node = "pixcdn"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MemoryObjectMax <= 0 {
		cfg.MemoryObjectMax = 1 << 20
	}
	b, err := openBans(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("purges: %w", err)
	}
	return &Cache{
		store: st, memo: newMetaMemo(cfg.MemoryTier), bans: b, now: cfg.Now, log: cfg.Logger,
		via: "1.1 " + cfg.Node, memObjMax: cfg.MemoryObjectMax, maxObject: cfg.MaxObject, picker: cfg.Picker,
	}, nil
}

// Close closes the ban file. The store is the caller's.
func (c *Cache) Close() error { return c.bans.close() }

// Via is this node's Via entry ("1.1 name").
func (c *Cache) Via() string { return c.via }

// Entry is what the store holds for one request: a miss (Obj nil), or an object to be
// released by the caller.
type Entry struct {
	Primary string        // the URL's key
	Key     string        // the object's key: Primary, or a Vary variant's key
	Obj     *store.Object // nil on a miss
	Meta    *Meta
	Fwd     string // Cache-Status fwd= when the cache cannot answer alone: uri-miss, vary-miss, miss
}

// Release gives back the object's handle.
func (e *Entry) Release() {
	if e.Obj != nil {
		e.Obj.Release()
		e.Obj = nil
	}
}

// find looks up the object for a request, following a Vary marker to the variant that matches
// the request's header. Undecodable records are dropped, never served. memOnly looks in the
// memory tier alone (Request.MemoryOnly).
func (c *Cache) find(primary string, h http.Header, memOnly bool) Entry {
	e := Entry{Primary: primary, Key: primary, Fwd: "uri-miss"}
	obj, m := c.lookupTier(primary, memOnly)
	if obj == nil {
		return e
	}
	if m.Kind != RecordVary {
		e.Obj, e.Meta, e.Fwd = obj, m, "miss"
		return e
	}
	obj.Release()
	e.Key, e.Fwd = VariantKey(primary, httpcache.VaryKey(m.VaryFields, h)), "vary-miss"
	if obj, m = c.lookupTier(e.Key, memOnly); obj != nil {
		e.Obj, e.Meta, e.Fwd = obj, m, "miss"
	}
	return e
}

// Lookup returns the record stored at key (an object, a marker), with bans applied, or a miss.
func (c *Cache) Lookup(p *Policy, key string) Entry {
	e := Entry{Key: key, Fwd: "miss"}
	if e.Obj, e.Meta = c.get(key); e.Obj != nil {
		e.Primary = e.Meta.Primary
		if e.Meta.Kind == RecordObject {
			c.applyBans(p, &e)
		}
	}
	return e
}

func (c *Cache) get(key string) (*store.Object, *Meta) { return c.lookupTier(key, false) }

func (c *Cache) lookupTier(key string, memOnly bool) (*store.Object, *Meta) {
	var obj *store.Object
	if memOnly {
		obj = c.store.GetMem(key)
	} else {
		obj, _ = c.store.Get(key)
	}
	if obj == nil {
		return nil, nil
	}
	m, err := c.memo.decode(key, obj.Meta())
	if err != nil {
		obj.Release()
		c.store.Delete(key)
		c.log.Warn("dropped undecodable cache record", "key", key, "err", err)
		return nil, nil
	}
	return obj, m
}

// applyBans makes a purged object a miss (hard purge) or stale as of the purge (soft).
func (c *Cache) applyBans(p *Policy, e *Entry) {
	b := c.bans.check(p.Name, e.Meta)
	if b == nil {
		return
	}
	if b.Soft {
		e.Meta = e.Meta.StaleAsOf(b.At)
		return
	}
	e.Release()
	c.store.Delete(e.Key)
	e.Meta, e.Fwd = nil, "miss"
}

// Delete drops what is stored at key (a Vary marker's variants become unreachable with it).
func (c *Cache) Delete(key string) { c.store.Delete(key) }

// Purge applies the bans a purge resolved to, once per purge ID: a redelivered purge changes
// nothing and reports Applied false. The bans take the purge's issue time (now when it has
// none). It returns when every later lookup sees them.
func (c *Cache) Purge(p purge.Purge, resolved []Ban) (purge.Result, error) {
	at := p.Issued
	if at.IsZero() {
		at = c.now()
	}
	for i := range resolved {
		resolved[i].At, resolved[i].Soft, resolved[i].ID = at.UnixNano(), p.Soft, p.ID
	}
	v, fresh, err := c.bans.add(p.ID, c.now(), resolved)
	res := purge.Result{ID: p.ID, Kind: p.Kind, Targets: len(resolved), Soft: p.Soft, Issued: at, Applied: fresh, BanVersion: v}
	if err != nil {
		c.log.Warn("purge not persisted: it holds until restart", "id", p.ID, "err", err)
	}
	if fresh && p.Kind == purge.URL {
		res.Cached = make([]bool, len(resolved))
		for i, b := range resolved {
			// A hard purge frees the space now; keyed and Vary variants follow lazily.
			res.Cached[i] = c.heldBefore(b.Value, b.At, !p.Soft)
		}
	}
	return res, nil
}

// heldBefore reports whether key holds a copy fetched before at (or a Vary marker: some
// variant was stored), and with del deletes such an object. A purge that arrives late must
// not take a copy fetched after it was issued.
func (c *Cache) heldBefore(key string, at int64, del bool) bool {
	obj, m := c.get(key)
	if obj == nil {
		return false
	}
	obj.Release()
	switch m.Kind {
	case RecordVary:
		return true
	case RecordPass:
		return false
	}
	old := m.RequestTime < at
	if old && del {
		c.store.Delete(key)
	}
	return old
}

// BanVersion is the ban list's version: it grows with every purge applied.
func (c *Cache) BanVersion() uint64 { return c.bans.version.Load() }

// InFlight is how many fills and makes are under way now.
func (c *Cache) InFlight() int { return c.flights.inFlight() }
