package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	otter "github.com/maypok86/otter/v2"
)

// memEntry is an immutable memory-tier value; an UpdateMeta replaces it rather than edits it,
// so an Object handed out keeps a consistent meta and body without a lock.
type memEntry struct {
	meta []byte
	body []byte
}

// memOverhead approximates the per-entry bookkeeping of the memory tier, so that a flood of
// tiny objects is bounded too.
const memOverhead = 96

// diskEntry locates a key's current record. The index maps xxhash64(key) to it; the record
// stores the key, which every read compares to rule out a hash collision.
type diskEntry struct {
	seg, off         uint32 // the record holding the body
	metaSeg, metaOff uint32 // the record holding the current meta (the same unless updated)
	recLen           uint32 // whole record length in a shared segment; 0 for a solo segment
}

// Cache is the two-tier object cache. It is safe for concurrent use.
type Cache struct {
	cfg Config
	log *slog.Logger
	mem *otter.Cache[string, *memEntry] // nil when the memory tier is disabled

	// stripes serialise the mutations of one key across both tiers, so the tiers and the
	// on-disk order agree on which write came last.
	stripes [256]sync.Mutex

	dir string
	// amu guards the active segment, appends to it, sealing and sequence allocation.
	amu     sync.Mutex
	active  *segment
	nextSeq uint32
	recBuf  []byte
	// pendTomb holds keys dropped at runtime because a write failed, whose older record is
	// still on disk: their tombstones go out with the next successful append (or Close).
	pendTomb map[string]struct{}
	tmpID    atomic.Uint64
	// writeAt is the only place segment bytes are written, so tests can inject ENOSPC.
	writeAt func(f *os.File, b []byte, off int64) (int, error)

	// mu guards index, segs and order. Lock order: stripe, then amu, then mu.
	mu    sync.RWMutex
	index map[uint64]diskEntry
	segs  map[uint32]*segment
	order []*segment // by sequence, oldest first

	// diskBytes counts segment bytes plus the bytes of large writes in progress.
	diskBytes atomic.Int64
	closed    atomic.Bool
	st        counters
}

// counters are the atomic fields behind Stats.
type counters struct {
	memHits, diskHits, misses                atomic.Int64
	memEvictions, diskEvictions, diskEvicted atomic.Int64
	corruptDropped, tornTails, writeErrors   atomic.Int64
}

func hashKey(key string) uint64 { return xxhash.Sum64String(key) }

func hashBytes(key []byte) uint64 { return xxhash.Sum64(key) }

// Open builds a Cache: the memory tier, and when cfg.Dir is set, the disk tier with its index
// rebuilt from the segment files (hints where they are sound, a scan otherwise).
func Open(cfg Config) (*Cache, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, log: cfg.Logger, dir: cfg.Dir, writeAt: (*os.File).WriteAt,
		index: make(map[uint64]diskEntry), segs: make(map[uint32]*segment), nextSeq: 1,
		pendTomb: make(map[string]struct{})}
	if cfg.MemoryBytes > 0 {
		mem, err := otter.New(&otter.Options[string, *memEntry]{
			MaximumWeight: uint64(cfg.MemoryBytes),
			Weigher:       memWeight,
			// Runs inside the deletion: an atomic add is all it may do.
			OnAtomicDeletion: func(e otter.DeletionEvent[string, *memEntry]) {
				if e.WasEvicted() {
					c.st.memEvictions.Add(1)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("store: memory tier: %w", err)
		}
		c.mem = mem
	}
	if c.dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := c.rebuild(); err != nil {
		c.releaseSegments()
		return nil, err
	}
	c.maybeEvict()
	return c, nil
}

func memWeight(key string, e *memEntry) uint32 {
	return uint32(len(key) + len(e.meta) + len(e.body) + memOverhead)
}

// Close seals the active segment (writing its hint, so the next Open reads no data) and
// releases the files. Objects still held by callers stay readable until Released.
func (c *Cache) Close() error {
	if c.closed.Swap(true) {
		return ErrClosed
	}
	var err error
	if c.dir != "" {
		c.amu.Lock()
		c.flushTombstones()
		err = c.sealActive()
		c.amu.Unlock()
		c.releaseSegments()
	}
	if c.mem != nil {
		c.mem.InvalidateAll()
	}
	return err
}

func (c *Cache) releaseSegments() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.order {
		s.release()
	}
	c.order, c.segs, c.index = nil, map[uint32]*segment{}, map[uint64]diskEntry{}
}

func (c *Cache) stripe(h uint64) *sync.Mutex { return &c.stripes[h%uint64(len(c.stripes))] }

func checkSizes(key string, meta []byte) error {
	if len(key) == 0 || len(key) > MaxKeyLen || len(meta) > MaxMetaLen {
		return fmt.Errorf("store: key of %d bytes or meta of %d bytes out of range: %w", len(key), len(meta), ErrTooLarge)
	}
	return nil
}

// Put stores an object whose body is fully in hand, replacing any earlier object of the key.
// A body above MemoryObjectMax goes to a dedicated segment, as through Begin.
func (c *Cache) Put(key string, meta, body []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := checkSizes(key, meta); err != nil {
		return err
	}
	if int64(len(body)) > c.cfg.MemoryObjectMax {
		return c.putLarge(key, meta, body)
	}
	defer c.maybeEvict()
	return c.putSmall(hashKey(key), key, meta, body)
}

func (c *Cache) putLarge(key string, meta, body []byte) error {
	w, err := c.Begin(key, meta, int64(len(body)))
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// putSmall appends the record to the active segment, indexes it and admits it to memory.
func (c *Cache) putSmall(h uint64, key string, meta, body []byte) error {
	st := c.stripe(h)
	st.Lock()
	defer st.Unlock()
	if c.dir != "" {
		err := c.appendRecord(h, 0, key, meta, body, func(seq, off, n uint32) {
			c.index[h] = diskEntry{seg: seq, off: off, metaSeg: seq, metaOff: off, recLen: n}
		})
		if err != nil {
			c.forgetLocked(h, key) // the older version is stale now
			return fmt.Errorf("store: put %q: %w", key, err)
		}
	}
	c.memSet(key, meta, body)
	return nil
}

// memSet copies meta and body into one allocation and admits them to the memory tier.
func (c *Cache) memSet(key string, meta, body []byte) {
	if c.mem == nil || int64(len(body)) > c.cfg.MemoryObjectMax {
		if c.mem != nil {
			c.mem.Invalidate(key)
		}
		return
	}
	buf := make([]byte, len(meta)+len(body))
	copy(buf, meta)
	copy(buf[len(meta):], body)
	c.mem.Set(key, &memEntry{meta: buf[:len(meta):len(meta)], body: buf[len(meta):]})
}

// forgetLocked drops the key from both tiers after a failed write, and queues the tombstone
// that would shadow its older record on disk. The caller holds the key's stripe.
func (c *Cache) forgetLocked(h uint64, key string) {
	if c.mem != nil {
		c.mem.Invalidate(key)
	}
	if c.dir == "" {
		return
	}
	c.amu.Lock()
	c.mu.Lock()
	if _, ok := c.index[h]; ok && len(c.pendTomb) < maxPendingTombstones {
		c.pendTomb[key] = struct{}{}
	}
	delete(c.index, h)
	c.mu.Unlock()
	c.amu.Unlock()
}

// maxPendingTombstones bounds the memory a long disk outage can take; past it, a dropped
// key may reappear after a restart (with its older, still verified, record).
const maxPendingTombstones = 100_000

// Delete removes the key from both tiers. On disk it appends a tombstone, so the delete
// survives a restart.
func (c *Cache) Delete(key string) {
	if c.closed.Load() {
		return
	}
	h := hashKey(key)
	st := c.stripe(h)
	st.Lock()
	defer st.Unlock()
	c.deleteLocked(h, key)
}

func (c *Cache) deleteLocked(h uint64, key string) {
	if c.mem != nil {
		c.mem.Invalidate(key)
	}
	if c.dir == "" {
		return
	}
	c.mu.RLock()
	_, onDisk := c.index[h]
	c.mu.RUnlock()
	if !onDisk {
		return
	}
	err := c.appendRecord(h, flagTombstone, key, nil, nil, func(_, _, _ uint32) { delete(c.index, h) })
	if err != nil {
		c.log.Warn("store: tombstone not written; the key may reappear after a restart", "key", key, "err", err)
		c.forgetLocked(h, key)
	}
}

// UpdateMeta replaces the meta of a stored object (after a 304 revalidation), keeping its
// body. On disk it appends a meta-update record, so it survives a restart. It returns
// ErrNotFound when neither tier holds the key.
func (c *Cache) UpdateMeta(key string, meta []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := checkSizes(key, meta); err != nil {
		return err
	}
	h := hashKey(key)
	st := c.stripe(h)
	st.Lock()
	defer st.Unlock()
	found := false
	if c.dir != "" {
		c.mu.RLock()
		_, found = c.index[h]
		c.mu.RUnlock()
		if found {
			err := c.appendRecord(h, flagMetaUpdate, key, meta, nil, func(seq, off, _ uint32) {
				if e, ok := c.index[h]; ok {
					e.metaSeg, e.metaOff = seq, off
					c.index[h] = e
				}
			})
			if err != nil {
				c.forgetLocked(h, key)
				return fmt.Errorf("store: update meta %q: %w", key, err)
			}
		}
	}
	if c.mem != nil {
		if e, ok := c.mem.GetIfPresent(key); ok {
			c.mem.Set(key, &memEntry{meta: append([]byte(nil), meta...), body: e.body})
			found = true
		}
	}
	if !found {
		return fmt.Errorf("store: update meta %q: %w", key, ErrNotFound)
	}
	return nil
}

// Stats is a snapshot of the cache's gauges and counters.
type Stats struct {
	MemoryBytes, MemoryObjects int64 // memory tier weight (key+meta+body+overhead) and entries
	DiskBytes, DiskObjects     int64 // bytes of segment files (and large writes in progress), indexed objects
	Segments                   int64
	MemoryHits, DiskHits       int64
	Misses                     int64
	MemoryEvictions            int64 // objects the memory tier evicted for space
	DiskEvictions              int64 // whole segments deleted for space
	DiskEvictedObjects         int64 // index entries those segments took with them
	CorruptDropped             int64 // records found corrupt (on read or rebuild) and dropped
	TornTails                  int64 // segments whose torn tail the rebuild truncated
	WriteErrors                int64 // writes that failed even after evicting to make room
}

// Stats returns a snapshot; the counters are read atomically but not as one transaction.
func (c *Cache) Stats() Stats {
	s := Stats{
		DiskBytes: c.diskBytes.Load(), MemoryHits: c.st.memHits.Load(), DiskHits: c.st.diskHits.Load(),
		Misses: c.st.misses.Load(), MemoryEvictions: c.st.memEvictions.Load(),
		DiskEvictions: c.st.diskEvictions.Load(), DiskEvictedObjects: c.st.diskEvicted.Load(),
		CorruptDropped: c.st.corruptDropped.Load(), TornTails: c.st.tornTails.Load(),
		WriteErrors: c.st.writeErrors.Load(),
	}
	if c.mem != nil {
		s.MemoryBytes, s.MemoryObjects = int64(c.mem.WeightedSize()), int64(c.mem.EstimatedSize())
	}
	c.mu.RLock()
	s.DiskObjects, s.Segments = int64(len(c.index)), int64(len(c.order))
	c.mu.RUnlock()
	return s
}

func (c *Cache) segPath(seq uint32) string  { return filepath.Join(c.dir, segName(seq)) }
func (c *Cache) hintPath(seq uint32) string { return filepath.Join(c.dir, hintName(seq)) }

var errNoSegment = errors.New("store: segment gone")
