package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// segment is one segment file. Its fd stays open while anyone holds a reference, so a reader
// keeps working after eviction unlinked the file (Linux unlink semantics).
type segment struct {
	seq  uint32
	f    *os.File
	solo bool
	// size is the valid length of the file. It only grows, and only under Cache.amu while
	// the segment is active; it is fixed once sealed.
	size atomic.Int64
	refs atomic.Int32
	// sealed is set once the segment stops growing; only sealed segments are evicted.
	sealed atomic.Bool
	// hashes lists the key hash of every record, in order, so eviction can scrub the index
	// without reading the file (8 bytes per record).
	hashes []uint64
	// pending lists the records of the active segment for its hint; nil once sealed.
	pending []hintRec
}

func (s *segment) acquire() { s.refs.Add(1) }

// release drops a reference; the last one closes the file.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		s.f.Close()
	}
}

func segName(seq uint32) string  { return fmt.Sprintf("seg-%016x.dat", seq) }
func hintName(seq uint32) string { return fmt.Sprintf("seg-%016x.hint", seq) }
func tmpName(id uint64) string   { return fmt.Sprintf("tmp-%016x.dat", id) }

// parseSegName returns the sequence of a segment file name.
func parseSegName(name string) (uint32, bool) {
	hex, ok := strings.CutPrefix(name, "seg-")
	if !ok {
		return 0, false
	}
	hex, ok = strings.CutSuffix(hex, ".dat")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	return uint32(v), err == nil
}

// hintRec is one record as a hint file lists it.
type hintRec struct {
	hash   uint64
	off    uint32
	recLen uint32
	flags  uint8
}

const (
	hintMagic     = 0x31485850 // "PXH1"
	hintHeaderLen = 32
	hintEntryLen  = 17
)

// writeHint writes the hint of a sealed segment atomically (temp file, then rename), so a
// crash leaves either no hint or a whole one.
func writeHint(dir string, seq uint32, size int64, recs []hintRec, createdAt int64) error {
	n := len(recs)
	b := make([]byte, hintHeaderLen, hintHeaderLen+n*hintEntryLen+crcLen)
	binary.LittleEndian.PutUint32(b[0:], hintMagic)
	b[4] = recVersion
	binary.LittleEndian.PutUint32(b[8:], seq)
	binary.LittleEndian.PutUint64(b[12:], uint64(size))
	binary.LittleEndian.PutUint32(b[20:], uint32(n))
	binary.LittleEndian.PutUint64(b[24:], uint64(createdAt))
	for _, r := range recs {
		b = binary.LittleEndian.AppendUint64(b, r.hash)
		b = binary.LittleEndian.AppendUint32(b, r.off)
		b = binary.LittleEndian.AppendUint32(b, r.recLen)
		b = append(b, r.flags)
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	tmp := filepath.Join(dir, hintName(seq)+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write hint %d: %w", seq, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, hintName(seq))); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: write hint %d: %w", seq, err)
	}
	return nil
}

var errBadHint = errors.New("store: bad hint")

// readHint returns the records a hint lists, or an error when the hint is missing, corrupt or
// does not describe a file of segSize bytes (then the caller scans the segment).
func readHint(path string, seq uint32, segSize int64) ([]hintRec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < hintHeaderLen+crcLen ||
		crc32.Checksum(b[:len(b)-crcLen], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-crcLen:]) {
		return nil, errBadHint
	}
	n := int(binary.LittleEndian.Uint32(b[20:]))
	if binary.LittleEndian.Uint32(b[0:]) != hintMagic || binary.LittleEndian.Uint32(b[8:]) != seq ||
		int64(binary.LittleEndian.Uint64(b[12:])) != segSize || len(b) != hintHeaderLen+n*hintEntryLen+crcLen {
		return nil, errBadHint
	}
	recs := make([]hintRec, n)
	p := b[hintHeaderLen:]
	for i := range recs {
		recs[i] = hintRec{
			hash:   binary.LittleEndian.Uint64(p),
			off:    binary.LittleEndian.Uint32(p[8:]),
			recLen: binary.LittleEndian.Uint32(p[12:]),
			flags:  p[16],
		}
		p = p[hintEntryLen:]
	}
	return recs, nil
}

// scanResult is what scanning a shared segment found.
type scanResult struct {
	recs    []hintRec
	valid   int64 // length of the valid prefix; bytes past it are a torn tail
	corrupt int   // records skipped for a bad header or body checksum
}

// scanSegment parses every record of a shared segment held whole in b, verifying headers and
// body checksums. A bad header is skipped by searching for the next valid record header;
// when none follows, the rest is a torn tail.
func scanSegment(b []byte, hash func([]byte) uint64) scanResult {
	var r scanResult
	for pos := 0; pos < len(b); {
		d, err := decodeRecord(b[pos:])
		switch {
		case err == nil:
			r.recs = append(r.recs, hintRec{hash: hash(d.key), off: uint32(pos),
				recLen: uint32(d.h.recordLen()), flags: d.h.flags})
			pos += int(d.h.recordLen())
		case errors.Is(err, ErrCorrupt):
			// The header (hence key and length) is sound but the body is damaged: the
			// record becomes a tombstone, so an older version of the key cannot resurface.
			r.recs = append(r.recs, hintRec{hash: hash(d.key), off: uint32(pos), flags: flagTombstone})
			r.corrupt++
			pos += int(d.h.recordLen())
		default: // bad or torn header: resynchronise on the next header that checks out
			next := resync(b, pos+1)
			if next < 0 {
				r.valid = int64(pos)
				return r
			}
			r.corrupt++
			pos = next
		}
		r.valid = int64(pos)
	}
	return r
}

// resync returns the offset of the next complete record whose header CRC verifies, or -1.
func resync(b []byte, from int) int {
	var magic [4]byte
	binary.LittleEndian.PutUint32(magic[:], recMagic)
	for from < len(b) {
		i := indexBytes(b[from:], magic[:])
		if i < 0 {
			return -1
		}
		at := from + i
		if h, err := parseHeader(b[at:]); err == nil && int64(len(b)-at) >= h.recordLen() &&
			checkHeader(b[at:at+headerLen], b[at+headerLen:int64(at)+h.dataOff()]) {
			return at
		}
		from = at + 1
	}
	return -1
}

func indexBytes(s, sep []byte) int { return bytes.Index(s, sep) }

// readFull reads exactly len(p) bytes at off, mapping a short file to errTorn.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == io.EOF || err == nil {
		return errTorn
	}
	return err
}
