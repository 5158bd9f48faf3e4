package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Object is a handle on a stored object returned by Get. Its meta and body must not be
// modified. Release it when done; it must not be used afterwards. Handles are pooled, so a
// memory hit allocates nothing.
type Object struct {
	c        *Cache
	key      string
	meta     []byte
	body     []byte // the verified body when resident
	size     int64
	resident bool
	// For a large body on disk: the segment (one reference held) and the body's position.
	seg     *segment
	dataOff int64
	hash    uint64
	ent     diskEntry
}

var objectPool = sync.Pool{New: func() any { return new(Object) }}

// Meta returns the metadata blob; do not modify it.
func (o *Object) Meta() []byte { return o.meta }

// Size returns the body length.
func (o *Object) Size() int64 { return o.size }

// Bytes returns the whole verified body when it is in memory (every memory hit, and every
// disk hit of at most MemoryObjectMax); do not modify it. ok=false means: use NewReader.
func (o *Object) Bytes() ([]byte, bool) { return o.body, o.resident }

// NewReader streams body bytes [off, off+n); n<0 means to the end. Bytes of a large object
// are read block by block from its segment and checked against the block's CRC-32C before
// they are returned; a mismatch makes Read return ErrCorrupt and drops the record. The
// reader stays valid after the Object is released.
func (o *Object) NewReader(off, n int64) (io.ReadCloser, error) {
	if off < 0 || off > o.size {
		return nil, fmt.Errorf("store: range start %d outside a body of %d bytes", off, o.size)
	}
	end := o.size
	if n >= 0 && off+n < end {
		end = off + n
	}
	if o.resident {
		return io.NopCloser(bytes.NewReader(o.body[off:end])), nil
	}
	o.seg.acquire()
	return &blockReader{c: o.c, key: o.key, hash: o.hash, ent: o.ent, seg: o.seg,
		blocks: blockFile{r: o.seg.f, dataOff: o.dataOff, bodyLen: o.size}, pos: off, end: end}, nil
}

// Release returns the handle; the caller must not use the Object afterwards.
func (o *Object) Release() {
	if o.seg != nil {
		o.seg.release()
	}
	*o = Object{}
	objectPool.Put(o)
}

// blockFile locates the checksummed body blocks of one record in a file.
type blockFile struct {
	r       io.ReaderAt
	dataOff int64 // file offset of the first block
	bodyLen int64
}

var blockPool = sync.Pool{New: func() any { b := make([]byte, blockSize+crcLen); return &b }}

// read returns block i's data, verified, in buf (blockSize+crcLen bytes).
func (bf blockFile) read(i int64, buf []byte) ([]byte, error) {
	n := min(blockSize, bf.bodyLen-i*blockSize)
	b := buf[:n+crcLen]
	if err := readFull(bf.r, b, bf.dataOff+i*(blockSize+crcLen)); err != nil {
		if errors.Is(err, errTorn) {
			return nil, fmt.Errorf("store: block %d short: %w", i, ErrCorrupt)
		}
		return nil, err
	}
	if crc32.Checksum(b[:n], castagnoli) != binary.LittleEndian.Uint32(b[n:]) {
		return nil, fmt.Errorf("store: block %d checksum mismatch: %w", i, ErrCorrupt)
	}
	return b[:n], nil
}

// blockReader streams a verified range of a large body.
type blockReader struct {
	c      *Cache
	key    string
	hash   uint64
	ent    diskEntry
	seg    *segment
	blocks blockFile
	buf    *[]byte
	blk    []byte // the current verified block
	blkIdx int64
	pos    int64
	end    int64
	err    error
}

func (r *blockReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.pos >= r.end {
		return 0, io.EOF
	}
	i := r.pos >> blockShift
	if r.blk == nil || r.blkIdx != i {
		if r.buf == nil {
			r.buf = blockPool.Get().(*[]byte)
		}
		blk, err := r.blocks.read(i, *r.buf)
		if err != nil {
			r.err = err
			r.c.readFailed(r.key, r.hash, r.ent, err)
			return 0, err
		}
		r.blk, r.blkIdx = blk, i
	}
	start := r.pos - i*blockSize
	stop := min(int64(len(r.blk)), r.end-i*blockSize)
	n := copy(p, r.blk[start:stop])
	r.pos += int64(n)
	return n, nil
}

// Close releases the reader's buffer and segment reference; it is idempotent.
func (r *blockReader) Close() error {
	if r.seg == nil {
		return nil
	}
	if r.buf != nil {
		blockPool.Put(r.buf)
		r.buf, r.blk = nil, nil
	}
	r.seg.release()
	r.seg = nil
	if r.err == nil {
		r.err = ErrClosed
	}
	return nil
}
