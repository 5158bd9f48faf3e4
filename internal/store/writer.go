package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

type writerState int

const (
	writing writerState = iota
	committed
	aborted
)

// Writer is a streamed store of one object, started by Begin. Bytes up to MemoryObjectMax
// are buffered; past that (or from the start when the size hint says so) they go block by
// block to a dedicated temporary segment file, so memory stays bounded whatever the size.
// Commit renames that file into the next segment sequence and indexes it atomically.
//
// Write, Commit and Abort belong to one goroutine (the leader); NewReader may be called from
// any goroutine, and its readers are safe to use concurrently with the leader.
type Writer struct {
	c     *Cache
	key   string
	hash  uint64
	meta  []byte
	limit int64 // largest body accepted

	mu    sync.Mutex
	cond  *sync.Cond // signalled on every write, commit, abort and follower close
	state writerState
	err   error // sticky: the first failure
	n     int64 // body bytes accepted
	buf   []byte

	// file phase
	f        *os.File
	tmpPath  string
	dataOff  int64  // file offset of the first body block
	flushed  int64  // body bytes on file (whole blocks, and the last partial one after Commit)
	pend     []byte // the current partial block (not yet on file)
	reserved int64  // bytes counted in Cache.diskBytes
	seg      *segment
	readers  []*follower
}

// Begin starts a streamed store. sizeHint is the expected body length or -1. It returns
// ErrTooLarge when the object cannot be stored: a body above MemoryObjectMax without a disk
// tier, or above a quarter of the disk tier.
func (c *Cache) Begin(key string, meta []byte, sizeHint int64) (*Writer, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if err := checkSizes(key, meta); err != nil {
		return nil, err
	}
	limit := c.cfg.MemoryObjectMax
	if c.dir != "" {
		limit = c.cfg.DiskBytes / 4
	}
	if sizeHint > limit {
		return nil, fmt.Errorf("store: begin %q: %d bytes above the limit of %d: %w", key, sizeHint, limit, ErrTooLarge)
	}
	w := &Writer{c: c, key: key, hash: hashKey(key), meta: append([]byte(nil), meta...), limit: limit}
	w.cond = sync.NewCond(&w.mu)
	if c.dir != "" && sizeHint > c.cfg.MemoryObjectMax {
		w.mu.Lock()
		defer w.mu.Unlock()
		if err := w.spill(); err != nil {
			w.failLocked(err)
			return nil, err
		}
	}
	return w, nil
}

// Write appends body bytes. An error means the object will not be stored (the caller keeps
// serving its client); later writes return the same error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.state != writing {
		return 0, fmt.Errorf("store: write %q after Commit or Abort: %w", w.key, ErrClosed)
	}
	if w.n+int64(len(p)) > w.limit {
		w.failLocked(fmt.Errorf("store: write %q: body above %d bytes: %w", w.key, w.limit, ErrTooLarge))
		return 0, w.err
	}
	if w.f == nil && (w.c.dir == "" || w.n+int64(len(p)) <= w.c.cfg.MemoryObjectMax) {
		w.buf = append(w.buf, p...)
	} else {
		if w.f == nil {
			if err := w.spill(); err != nil {
				w.failLocked(err)
				return 0, err
			}
		}
		if err := w.appendBlocks(p); err != nil {
			w.failLocked(err)
			return 0, err
		}
	}
	w.n += int64(len(p))
	w.cond.Broadcast()
	return len(p), nil
}

// spill moves the object to a temporary file: a placeholder header (zeros, which no scan
// accepts, until Commit writes the real one), key and meta, then the buffered body.
func (w *Writer) spill() error {
	c := w.c
	w.tmpPath = filepath.Join(c.dir, tmpName(c.tmpID.Add(1)))
	f, err := os.OpenFile(w.tmpPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		c.st.writeErrors.Add(1)
		return fmt.Errorf("store: begin %q: %w", w.key, err)
	}
	w.f = f
	head := make([]byte, headerLen, headerLen+len(w.key)+len(w.meta))
	head = append(append(head, w.key...), w.meta...)
	if err := w.writeFile(head, 0); err != nil {
		return err
	}
	w.dataOff = int64(len(head))
	w.pend = make([]byte, 0, blockSize+crcLen)
	buffered := w.buf
	w.buf = nil
	return w.appendBlocks(buffered)
}

// appendBlocks adds p to the current block, writing each block as it fills.
func (w *Writer) appendBlocks(p []byte) error {
	for len(p) > 0 {
		k := min(len(p), blockSize-len(w.pend))
		w.pend = append(w.pend, p[:k]...)
		p = p[k:]
		if len(w.pend) == blockSize {
			if err := w.flushBlock(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushBlock writes the current block and its CRC.
func (w *Writer) flushBlock() error {
	n := int64(len(w.pend))
	w.pend = binary.LittleEndian.AppendUint32(w.pend, crc32.Checksum(w.pend, castagnoli))
	off := w.dataOff + (w.flushed>>blockShift)*(blockSize+crcLen)
	if err := w.writeFile(w.pend, off); err != nil {
		return err
	}
	w.flushed += n
	w.pend = w.pend[:0]
	return nil
}

// writeFile writes to the temporary file with the same disk-full policy as appends: count
// the bytes against the disk tier, evict to make room, retry once.
func (w *Writer) writeFile(b []byte, off int64) error {
	c := w.c
	c.diskBytes.Add(int64(len(b)))
	w.reserved += int64(len(b))
	c.maybeEvict()
	if _, err := c.writeAt(w.f, b, off); err != nil {
		c.evictOldest()
		if _, err = c.writeAt(w.f, b, off); err != nil {
			c.st.writeErrors.Add(1)
			return fmt.Errorf("store: write %q: %w", w.key, err)
		}
	}
	return nil
}

// failLocked records the first failure and discards the object; followers see the error.
func (w *Writer) failLocked(err error) {
	if w.err == nil {
		w.err = err
	}
	w.discardLocked()
}

func (w *Writer) discardLocked() {
	w.state = aborted
	w.buf = nil
	if w.f != nil {
		w.f.Close()
		os.Remove(w.tmpPath)
		w.c.diskBytes.Add(-w.reserved)
		w.reserved = 0
	}
	w.cond.Broadcast()
}

// Abort discards the object; followers get ErrAborted. It is a no-op after Commit.
func (w *Writer) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == writing {
		w.discardLocked()
	}
}

// Commit makes the object visible to Get, replacing any earlier object of the key. Call it
// only after every byte was written; it returns the Writer's error if a Write failed.
func (w *Writer) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.state != writing {
		return fmt.Errorf("store: commit %q after Abort: %w", w.key, ErrAborted)
	}
	var err error
	if w.f == nil {
		err = w.c.putSmall(w.hash, w.key, w.meta, w.buf)
	} else {
		err = w.commitFile()
	}
	if err != nil {
		w.failLocked(err)
		return err
	}
	w.state = committed
	w.cond.Broadcast()
	w.c.maybeEvict()
	return nil
}

// commitFile writes the last block and the real header, then hands the file to the cache.
func (w *Writer) commitFile() error {
	if len(w.pend) > 0 {
		if err := w.flushBlock(); err != nil {
			return err
		}
	}
	h := header{flags: flagSolo, keyLen: uint32(len(w.key)), metaLen: uint32(len(w.meta)),
		bodyLen: uint64(w.n), storedAt: w.c.cfg.Now().UnixNano()}
	var hb [headerLen]byte
	putHeader(hb[:], h, w.key, w.meta)
	if _, err := w.c.writeAt(w.f, hb[:], 0); err != nil {
		w.c.st.writeErrors.Add(1)
		return fmt.Errorf("store: commit %q: %w", w.key, err)
	}
	s, err := w.c.commitSolo(w)
	if err != nil {
		return err
	}
	w.reserved, w.seg = 0, s
	for _, r := range w.readers { // each open follower now holds the segment like a reader
		s.acquire()
		r.seg = s
	}
	return nil
}

// commitSolo renames a finished temporary file into the next segment sequence and indexes
// it. The active segment is sealed first, so every segment sequence stays ordered by write
// time: rebuild's "later record wins" and eviction's "oldest first" then need nothing else.
func (c *Cache) commitSolo(w *Writer) (*segment, error) {
	st := c.stripe(w.hash)
	st.Lock()
	defer st.Unlock()
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	c.sealActive() // a missing hint only costs a scan at the next Open
	seq := c.nextSeq
	if err := os.Rename(w.tmpPath, c.segPath(seq)); err != nil {
		c.st.writeErrors.Add(1)
		return nil, fmt.Errorf("store: commit %q: %w", w.key, err)
	}
	c.nextSeq++
	s := &segment{seq: seq, f: w.f, solo: true, hashes: []uint64{w.hash}}
	s.size.Store(w.reserved)
	s.refs.Store(1)
	s.sealed.Store(true)
	c.mu.Lock()
	c.segs[seq] = s
	c.order = append(c.order, s)
	c.index[w.hash] = diskEntry{seg: seq, metaSeg: seq}
	c.mu.Unlock()
	if c.mem != nil {
		c.mem.Invalidate(w.key)
	}
	return s, nil
}

// NewReader returns a follower: it reads the bytes written so far and blocks until more
// arrive, Commit (then io.EOF after the last byte) or Abort (then ErrAborted). Close
// unblocks a Read in progress, which then returns ErrClosed. Bytes read from the file are
// verified like any other block.
func (w *Writer) NewReader() io.ReadCloser {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &follower{w: w}
	if w.state == committed && w.seg != nil {
		// A late follower holds the segment like a reader, if eviction has not taken it.
		c := w.c
		c.mu.RLock()
		if c.segs[w.seg.seq] == w.seg {
			w.seg.acquire()
			r.seg = w.seg
		} else {
			r.gone = true
		}
		c.mu.RUnlock()
	}
	if w.state == writing {
		w.readers = append(w.readers, r)
	}
	return r
}

// follower reads a Writer's body as it is written.
type follower struct {
	w      *Writer
	pos    int64
	closed bool
	gone   bool     // started after Commit, when the object was already evicted
	seg    *segment // held after Commit, so the file stays open
	buf    *[]byte
	blk    []byte
	blkIdx int64
}

func (r *follower) Read(p []byte) (int, error) {
	w := r.w
	w.mu.Lock()
	for !r.closed && w.state == writing && r.pos >= w.n {
		w.cond.Wait()
	}
	switch {
	case r.closed:
		w.mu.Unlock()
		return 0, ErrClosed
	case r.gone:
		w.mu.Unlock()
		return 0, fmt.Errorf("store: %q evicted before the follower started: %w", w.key, ErrAborted)
	case w.state == aborted:
		err := w.err
		w.mu.Unlock()
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrAborted, err)
		}
		return 0, ErrAborted
	case r.pos >= w.n:
		w.mu.Unlock()
		return 0, io.EOF
	case w.f == nil:
		n := copy(p, w.buf[r.pos:w.n])
		r.pos += int64(n)
		w.mu.Unlock()
		return n, nil
	case r.pos >= w.flushed:
		n := copy(p, w.pend[r.pos-w.flushed:w.n-w.flushed])
		r.pos += int64(n)
		w.mu.Unlock()
		return n, nil
	}
	bf := blockFile{r: w.f, dataOff: w.dataOff, bodyLen: w.flushed}
	w.mu.Unlock()
	n, err := r.readFile(p, bf)
	if err != nil {
		w.mu.Lock()
		if w.state == aborted { // Abort closed the file under the read
			err = fmt.Errorf("%w: %w", ErrAborted, err)
		}
		w.mu.Unlock()
	}
	return n, err
}

// readFile serves p from the whole blocks already on file, verifying each.
func (r *follower) readFile(p []byte, bf blockFile) (int, error) {
	i := r.pos >> blockShift
	if r.blk == nil || r.blkIdx != i {
		if r.buf == nil {
			r.buf = blockPool.Get().(*[]byte)
		}
		blk, err := bf.read(i, *r.buf)
		if err != nil {
			return 0, err
		}
		r.blk, r.blkIdx = blk, i
	}
	n := copy(p, r.blk[r.pos-i*blockSize:])
	r.pos += int64(n)
	return n, nil
}

// Close ends the follower and unblocks its Read; it is idempotent.
func (r *follower) Close() error {
	w := r.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for i, o := range w.readers {
		if o == r {
			w.readers = append(w.readers[:i], w.readers[i+1:]...)
			break
		}
	}
	if r.seg != nil {
		r.seg.release()
		r.seg = nil
	}
	w.cond.Broadcast()
	return nil
}

var (
	_ io.ReadCloser = (*follower)(nil)
	_ io.ReadCloser = (*blockReader)(nil)
)
