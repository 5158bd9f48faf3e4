package store

import (
	"fmt"
	"os"
)

// appendRecord writes one record to the active segment and, still under amu, runs index
// (under mu) with the record's location, so no eviction or seal can slip between the write
// and its indexing. The caller holds the key's stripe.
func (c *Cache) appendRecord(h uint64, flags uint8, key string, meta, body []byte, index func(seq, off, n uint32)) error {
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	rec := encodeRecord(c.recBuf[:0], flags, key, meta, body, c.cfg.Now().UnixNano())
	if cap(rec) <= 4*blockSize {
		c.recBuf = rec // keep a modest buffer for the next append
	}
	s, err := c.activeSegment()
	if err != nil {
		return err
	}
	off := s.size.Load()
	if err := c.writeRetry(s, rec, off); err != nil {
		return err
	}
	c.appended(s, h, flags, off, len(rec))
	c.mu.Lock()
	index(s.seq, uint32(off), uint32(len(rec)))
	c.mu.Unlock()
	delete(c.pendTomb, key) // this record supersedes a queued tombstone
	c.flushTombstones()
	if s.size.Load() >= c.cfg.SegmentBytes {
		c.sealActive() // the record is stored; a hint that failed only costs a scan at Open
	}
	return nil
}

// appended accounts for a record written at off. Caller holds amu.
func (c *Cache) appended(s *segment, h uint64, flags uint8, off int64, n int) {
	s.size.Store(off + int64(n))
	s.hashes = append(s.hashes, h)
	s.pending = append(s.pending, hintRec{hash: h, off: uint32(off), recLen: uint32(n), flags: flags})
	c.diskBytes.Add(int64(n))
}

// flushTombstones writes the tombstones queued by failed writes; one that fails again stays
// queued. They need no index change: their keys were already dropped. Caller holds amu.
func (c *Cache) flushTombstones() {
	if len(c.pendTomb) == 0 {
		return
	}
	s, err := c.activeSegment()
	if err != nil {
		return
	}
	now := c.cfg.Now().UnixNano()
	for key := range c.pendTomb {
		rec := encodeRecord(nil, flagTombstone, key, nil, nil, now)
		off := s.size.Load()
		if _, err := c.writeAt(s.f, rec, off); err != nil {
			s.f.Truncate(off)
			return
		}
		c.appended(s, hashKey(key), flagTombstone, off, len(rec))
		delete(c.pendTomb, key)
	}
}

// writeRetry writes rec at off. On failure (ENOSPC or any error) it evicts the oldest segment
// and tries once more; a second failure leaves the file truncated back to off, so the
// segment never holds a partial record that a later append would follow.
func (c *Cache) writeRetry(s *segment, rec []byte, off int64) error {
	_, err := c.writeAt(s.f, rec, off)
	if err == nil {
		return nil
	}
	c.evictOldest()
	if _, err = c.writeAt(s.f, rec, off); err == nil {
		return nil
	}
	c.st.writeErrors.Add(1)
	if terr := s.f.Truncate(off); terr != nil {
		c.log.Warn("store: truncate after failed write", "segment", s.seq, "err", terr)
	}
	return fmt.Errorf("store: write segment %d: %w", s.seq, err)
}

// activeSegment returns the active segment, creating it when there is none. Caller holds amu.
func (c *Cache) activeSegment() (*segment, error) {
	if c.active != nil {
		return c.active, nil
	}
	seq := c.nextSeq
	f, err := os.OpenFile(c.segPath(seq), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		c.st.writeErrors.Add(1)
		return nil, fmt.Errorf("store: create segment: %w", err)
	}
	c.nextSeq++
	s := &segment{seq: seq, f: f}
	s.refs.Store(1)
	c.register(s)
	c.active = s
	return s, nil
}

// register adds a segment to the table. Caller holds amu, so sequences enter order sorted.
func (c *Cache) register(s *segment) {
	c.mu.Lock()
	c.segs[s.seq] = s
	c.order = append(c.order, s)
	c.mu.Unlock()
}

// sealActive seals the active segment and writes its hint. An empty active segment is
// removed instead, so that a solo segment committed next stays ordered after everything
// before it. Caller holds amu.
func (c *Cache) sealActive() error {
	s := c.active
	if s == nil {
		return nil
	}
	c.active = nil
	if s.size.Load() == 0 {
		c.unregister(s)
		os.Remove(c.segPath(s.seq))
		s.release()
		return nil
	}
	recs := s.pending
	s.pending = nil
	s.sealed.Store(true)
	if err := writeHint(c.dir, s.seq, s.size.Load(), recs, c.cfg.Now().UnixNano()); err != nil {
		c.log.Warn("store: hint not written; the next Open scans the segment", "segment", s.seq, "err", err)
		return err
	}
	return nil
}

func (c *Cache) unregister(s *segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.segs, s.seq)
	for i, o := range c.order {
		if o == s {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			break
		}
	}
}

// maybeEvict deletes oldest segments while the disk tier is over capacity.
func (c *Cache) maybeEvict() {
	for c.diskBytes.Load() > c.cfg.DiskBytes {
		if !c.evictOldest() {
			return
		}
	}
}

// evictOldest deletes the oldest sealed segment: its index entries go, the file is unlinked,
// and readers holding it keep their open fd until they Release. It reports whether a segment
// was evicted.
func (c *Cache) evictOldest() bool {
	c.mu.Lock()
	if len(c.order) == 0 || !c.order[0].sealed.Load() {
		c.mu.Unlock()
		return false
	}
	s := c.order[0]
	c.order = c.order[1:]
	delete(c.segs, s.seq)
	dropped := 0
	for _, h := range s.hashes {
		if e, ok := c.index[h]; ok && (e.seg == s.seq || e.metaSeg == s.seq) {
			delete(c.index, h)
			dropped++
		}
	}
	c.mu.Unlock()
	c.diskBytes.Add(-s.size.Load())
	os.Remove(c.segPath(s.seq))
	os.Remove(c.hintPath(s.seq))
	c.st.diskEvictions.Add(1)
	c.st.diskEvicted.Add(int64(dropped))
	s.release()
	return true
}
