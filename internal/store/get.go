package store

import (
	"errors"
	"fmt"
	"io"
)

// errKeyMismatch means the record at the index entry belongs to another key with the same
// hash: a miss, not a corruption.
var errKeyMismatch = errors.New("store: key hash collision")

func (c *Cache) getDiskCounted(key string) (obj *Object, ok bool) {
	if c.dir != "" && !c.closed.Load() {
		if o := c.getDisk(key); o != nil {
			c.st.diskHits.Add(1)
			return o, true
		}
	}
	c.st.misses.Add(1)
	return nil, false
}

// Get returns the object for key, or ok=false. The caller must Release the object.
// A memory hit allocates nothing. A disk hit of a small object reads and verifies the whole
// record and promotes it to memory; a large one verifies header, key and meta now and the
// body block by block as it is read.
func (c *Cache) Get(key string) (obj *Object, ok bool) {
	if o := c.GetMem(key); o != nil {
		c.st.memHits.Add(1)
		return o, true
	}
	return c.getDiskCounted(key)
}

// GetMem returns the object for key if the memory tier holds it, else nil, counting nothing:
// for a caller that must not wait on the disk (an event loop serving hits inline), which
// counts the hits it keeps with CountMemHits and asks again through Get for the rest.
func (c *Cache) GetMem(key string) *Object {
	if c.mem == nil {
		return nil
	}
	e, hit := c.mem.GetIfPresent(key)
	if !hit {
		return nil
	}
	o := objectPool.Get().(*Object)
	o.c, o.key, o.meta, o.body, o.size, o.resident = c, key, e.meta, e.body, int64(len(e.body)), true
	return o
}

// CountMemHits counts n memory hits found with GetMem.
func (c *Cache) CountMemHits(n int) { c.st.memHits.Add(int64(n)) }

func (c *Cache) getDisk(key string) *Object {
	h := hashKey(key)
	c.mu.RLock()
	e, ok := c.index[h]
	s, ms := c.segs[e.seg], c.segs[e.metaSeg]
	if ok && s != nil && ms != nil {
		s.acquire()
		ms.acquire()
	}
	c.mu.RUnlock()
	if !ok || s == nil || ms == nil {
		return nil
	}
	defer ms.release()
	o := objectPool.Get().(*Object)
	o.c, o.key, o.hash, o.ent = c, key, h, e
	err := c.readBody(o, s)
	if err == nil && (e.metaSeg != e.seg || e.metaOff != e.off) {
		o.meta, err = readMeta(ms.f, int64(e.metaOff), key)
	}
	if err != nil {
		o.Release()
		c.readFailed(key, h, e, err)
		return nil
	}
	if o.resident {
		c.promote(key, h, e, o.meta, o.body)
	}
	return o
}

// readBody fills o from the body record. A small record is read and verified whole; a solo
// record keeps the segment reference in o for streaming.
func (c *Cache) readBody(o *Object, s *segment) error {
	e := o.ent
	if e.recLen == 0 {
		h, km, err := readHead(s.f, int64(e.off), o.key)
		if err == nil && h.flags&flagSolo == 0 {
			err = fmt.Errorf("store: segment %d: solo flag missing: %w", e.seg, ErrCorrupt)
		}
		if err != nil {
			s.release()
			return err
		}
		o.meta, o.size, o.seg, o.dataOff = km[h.keyLen:], int64(h.bodyLen), s, int64(e.off)+h.dataOff()
		return nil
	}
	defer s.release()
	buf := make([]byte, e.recLen)
	if err := readFull(s.f, buf, int64(e.off)); err != nil {
		return err
	}
	d, err := decodeRecord(buf)
	if err == nil && d.h.flags&(flagTombstone|flagMetaUpdate|flagSolo) != 0 {
		err = fmt.Errorf("store: segment %d offset %d: not a body record: %w", e.seg, e.off, ErrCorrupt)
	}
	if err == nil && string(d.key) != o.key {
		err = errKeyMismatch
	}
	if err != nil {
		return err
	}
	o.meta, o.body, o.size, o.resident = d.meta[:len(d.meta):len(d.meta)], d.body, int64(len(d.body)), true
	return nil
}

// readHead reads and verifies the header, key and meta of the record at off, and checks the
// key. It returns the key followed by the meta.
func readHead(r io.ReaderAt, off int64, key string) (header, []byte, error) {
	var hb [headerLen]byte
	if err := readFull(r, hb[:], off); err != nil {
		return header{}, nil, err
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return header{}, nil, err
	}
	km := make([]byte, h.keyLen+h.metaLen)
	if err := readFull(r, km, off+headerLen); err != nil {
		return header{}, nil, err
	}
	if !checkHeader(hb[:], km) {
		return header{}, nil, errBadHeader
	}
	if string(km[:h.keyLen]) != key {
		return header{}, nil, errKeyMismatch
	}
	return h, km, nil
}

// readMeta reads the meta of a meta-update record.
func readMeta(r io.ReaderAt, off int64, key string) ([]byte, error) {
	h, km, err := readHead(r, off, key)
	if err != nil {
		return nil, err
	}
	if h.flags&flagMetaUpdate == 0 {
		return nil, fmt.Errorf("store: offset %d: not a meta update: %w", off, ErrCorrupt)
	}
	return km[h.keyLen:], nil
}

// readFailed handles a failed disk read. A corrupt record is dropped from the index and
// shadowed by a tombstone (so an older version cannot resurface after a restart) and
// counted; a collision is a plain miss; an I/O error is logged.
func (c *Cache) readFailed(key string, h uint64, e diskEntry, err error) {
	switch {
	case errors.Is(err, errKeyMismatch):
		return
	case errors.Is(err, ErrCorrupt), errors.Is(err, errBadHeader), errors.Is(err, errTorn):
	default:
		c.log.Warn("store: read failed", "key", key, "segment", e.seg, "err", err)
		return
	}
	st := c.stripe(h)
	st.Lock()
	defer st.Unlock()
	c.mu.RLock()
	cur, ok := c.index[h]
	c.mu.RUnlock()
	if !ok || cur != e {
		return // already replaced or dropped
	}
	c.st.corruptDropped.Add(1)
	c.log.Warn("store: corrupt record dropped", "key", key, "segment", e.seg, "offset", e.off, "err", err)
	c.deleteLocked(h, key)
}

// promote admits a small object read from disk to the memory tier, unless the key changed
// meanwhile (then the read version is stale and must not shadow the new one).
func (c *Cache) promote(key string, h uint64, e diskEntry, meta, body []byte) {
	if c.mem == nil || int64(len(body)) > c.cfg.MemoryObjectMax {
		return
	}
	st := c.stripe(h)
	st.Lock()
	defer st.Unlock()
	c.mu.RLock()
	cur, ok := c.index[h]
	c.mu.RUnlock()
	if ok && cur == e {
		c.mem.Set(key, &memEntry{meta: meta, body: body})
	}
}
