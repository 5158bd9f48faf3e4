package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// rebuild loads every segment in sequence order and replays its records into the index:
// later records win, tombstones delete, meta updates repoint the meta. Leftovers of an
// interrupted write (tmp files, half-written hints) are removed.
func (c *Cache) rebuild() error {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	var seqs []uint32
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "tmp-") || strings.HasSuffix(name, ".hint.tmp") {
			os.Remove(filepath.Join(c.dir, name))
			continue
		}
		if seq, ok := parseSegName(name); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	var buf []byte
	for _, seq := range seqs {
		c.nextSeq = max(c.nextSeq, seq+1)
		s, recs, err := c.loadSegment(seq, &buf)
		if err != nil {
			c.log.Warn("store: segment dropped", "segment", seq, "err", err)
			continue
		}
		if s == nil { // empty: created just before a crash
			continue
		}
		c.apply(seq, recs)
		s.sealed.Store(true)
		c.segs[seq], c.order = s, append(c.order, s)
		c.diskBytes.Add(s.size.Load())
	}
	c.log.Info("store: index rebuilt", "dir", c.dir, "segments", len(c.order), "objects", len(c.index))
	return nil
}

// apply replays one segment's records into the index (no lock: Open has not returned yet).
func (c *Cache) apply(seq uint32, recs []hintRec) {
	for _, r := range recs {
		switch {
		case r.flags&flagTombstone != 0:
			delete(c.index, r.hash)
		case r.flags&flagMetaUpdate != 0:
			if e, ok := c.index[r.hash]; ok {
				e.metaSeg, e.metaOff = seq, r.off
				c.index[r.hash] = e
			}
		default:
			c.index[r.hash] = diskEntry{seg: seq, off: r.off, metaSeg: seq, metaOff: r.off, recLen: r.recLen}
		}
	}
}

// loadSegment opens a segment and returns its records: from the one header of a solo
// segment, from the hint of a shared one, or by scanning it (then truncating a torn tail and
// writing the missing hint). buf is reused between segments.
func (c *Cache) loadSegment(seq uint32, buf *[]byte) (*segment, []hintRec, error) {
	path := c.segPath(seq)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	s := &segment{seq: seq, f: f}
	s.refs.Store(1)
	recs, err := c.readSegmentRecords(s, buf)
	if err != nil {
		f.Close()
		c.st.corruptDropped.Add(1)
		os.Remove(path)
		os.Remove(c.hintPath(seq))
		return nil, nil, err
	}
	if s.size.Load() == 0 {
		f.Close()
		os.Remove(path)
		os.Remove(c.hintPath(seq))
		return nil, nil, nil
	}
	s.hashes = make([]uint64, len(recs))
	for i, r := range recs {
		s.hashes[i] = r.hash
	}
	return s, recs, nil
}

func (c *Cache) readSegmentRecords(s *segment, buf *[]byte) ([]hintRec, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	s.size.Store(size)
	if rec, ok, err := readSolo(s.f, size); ok || err != nil {
		return []hintRec{rec}, err
	}
	if recs, err := readHint(c.hintPath(s.seq), s.seq, size); err == nil {
		return recs, nil
	}
	// A shared segment is at most SegmentBytes plus one record; anything larger is a solo
	// segment whose header is damaged, and is not read into memory.
	if size > 2*c.cfg.SegmentBytes+2*maxMemoryObjectMax {
		return nil, fmt.Errorf("store: segment %d: %d bytes with no valid header: %w", s.seq, size, ErrCorrupt)
	}
	return c.scanShared(s, size, buf)
}

// readSolo recognises a solo segment by its first header. ok=false means it is not one.
func readSolo(f *os.File, size int64) (hintRec, bool, error) {
	var hb [headerLen]byte
	if readFull(f, hb[:], 0) != nil {
		return hintRec{}, false, nil
	}
	h, err := parseHeader(hb[:])
	if err != nil || h.flags&flagSolo == 0 {
		return hintRec{}, false, nil
	}
	km := make([]byte, h.keyLen+h.metaLen)
	if readFull(f, km, headerLen) != nil || !checkHeader(hb[:], km) {
		return hintRec{}, false, nil
	}
	if h.recordLen() != size {
		return hintRec{}, true, fmt.Errorf("store: solo segment of %d bytes, record of %d: %w", size, h.recordLen(), ErrCorrupt)
	}
	return hintRec{hash: hashBytes(km[:h.keyLen]), flags: h.flags}, true, nil
}

// scanShared reads a shared segment whole, verifies every record, truncates a torn tail and
// writes the hint that was missing.
func (c *Cache) scanShared(s *segment, size int64, buf *[]byte) ([]hintRec, error) {
	if int64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if err := readFull(s.f, b, 0); err != nil {
		return nil, err
	}
	r := scanSegment(b, hashBytes)
	c.st.corruptDropped.Add(int64(r.corrupt))
	if r.valid < size {
		c.st.tornTails.Add(1)
		c.log.Warn("store: torn tail truncated", "segment", s.seq, "from", r.valid, "size", size)
		if err := s.f.Truncate(r.valid); err != nil {
			return nil, fmt.Errorf("store: truncate segment %d: %w", s.seq, err)
		}
		s.size.Store(r.valid)
	}
	if err := writeHint(c.dir, s.seq, r.valid, r.recs, c.cfg.Now().UnixNano()); err != nil {
		c.log.Warn("store: hint not written", "segment", s.seq, "err", err)
	}
	return r.recs, nil
}
