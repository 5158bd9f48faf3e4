package store

import (
	"bytes"
	"testing"
)

// FuzzScanSegment feeds arbitrary bytes to the segment scanner: it must not panic, every
// record it accepts must decode and verify on its own, and the valid prefix must be within
// the input.
func FuzzScanSegment(f *testing.F) {
	var seg []byte
	seg = encodeRecord(seg, 0, "a", []byte("meta"), []byte("body"), 1)
	seg = encodeRecord(seg, flagTombstone, "b", nil, nil, 2)
	seg = encodeRecord(seg, flagMetaUpdate, "a", []byte("m2"), nil, 3)
	seg = encodeRecord(seg, 0, "c", nil, bytes.Repeat([]byte{7}, 300), 4)
	f.Add(seg)
	f.Add(seg[:len(seg)-5])
	f.Add(append(bytes.Clone(seg[:40]), seg...))
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r := scanSegment(b, hashBytes)
		if r.valid < 0 || r.valid > int64(len(b)) {
			t.Fatalf("valid prefix %d of %d bytes", r.valid, len(b))
		}
		for _, rec := range r.recs {
			if rec.flags&flagTombstone != 0 && rec.recLen == 0 {
				continue // a record whose body failed: shadowed, not served
			}
			d, err := decodeRecord(bytes.Clone(in[rec.off : rec.off+rec.recLen]))
			if err != nil {
				t.Fatalf("accepted record at %d does not decode: %v", rec.off, err)
			}
			if hashBytes(d.key) != rec.hash {
				t.Fatalf("record at %d: hash mismatch", rec.off)
			}
		}
	})
}

// FuzzRecordRoundTrip checks that encodeRecord and decodeRecord agree for any key, meta
// and body, and that any single flipped byte is detected.
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add("key", []byte("meta"), []byte("body"), uint16(3))
	f.Add("k", []byte{}, bytes.Repeat([]byte{1}, blockSize+1), uint16(40))
	f.Fuzz(func(t *testing.T, key string, meta, body []byte, at uint16) {
		if len(key) == 0 || len(key) > MaxKeyLen || len(meta) > MaxMetaLen {
			return
		}
		rec := encodeRecord(nil, 0, key, meta, body, 5)
		d, err := decodeRecord(bytes.Clone(rec))
		if err != nil || string(d.key) != key || !bytes.Equal(d.meta, meta) || !bytes.Equal(d.body, body) {
			t.Fatalf("round trip: %v", err)
		}
		i := int(at) % len(rec)
		rec[i] ^= 0x5a
		if d, err := decodeRecord(rec); err == nil && bytes.Equal(d.body, body) && string(d.key) == key {
			t.Fatalf("flipped byte %d of %d went undetected", i, len(rec))
		}
	})
}
