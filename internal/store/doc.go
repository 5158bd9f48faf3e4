// Package store is pixcdn's object cache: a byte-bounded memory tier over a disk tier of
// append-only segment files. It knows nothing of HTTP: an object is a key, an opaque
// metadata blob (the edge's encoded headers) and a body.
//
// # Memory tier
//
// An otter (W-TinyLFU, adaptive window) cache weighted by len(key)+len(meta)+len(body)+96,
// so a scan of one-hit objects does not flush the hot set. Only bodies of at most
// MemoryObjectMax enter it. Entries are immutable; Get hands out a pooled *Object pointing
// at them, so a memory hit does not allocate.
//
// # Disk tier: files in Dir
//
//	seg-<16 hex>.dat     a segment; the hex number is its sequence (creation order)
//	seg-<16 hex>.hint    the index of a sealed shared segment (absent for the active one)
//	tmp-<16 hex>.dat     a large object being written; deleted by Open (never committed)
//	*.hint.tmp           a hint being written; deleted by Open
//
// A shared segment holds small records appended one after another; it is sealed (and its
// hint written) when it reaches SegmentBytes or on Close. A solo segment holds exactly one
// record, a large object streamed through Begin; it is written as tmp-*.dat and renamed to
// the next sequence at Commit, after sealing the active segment. So sequence order is write
// order across all segments, and "later wins" is simply (sequence, offset) order.
//
// # Record (all integers little-endian)
//
//	off len field
//	 0   4  magic "PXC1" (0x31435850)
//	 4   1  version (1)
//	 5   1  flags: 1 tombstone, 2 meta update, 4 solo (the only record of its segment)
//	 6   1  log2 of the body block size (16: 64 KiB)
//	 7   1  reserved (0)
//	 8   4  key length (1..65536)
//	12   4  meta length (0..1 MiB)
//	16   8  body length
//	24   8  stored-at time, unix nanoseconds (informational)
//	32   4  CRC-32C (Castagnoli) of bytes 0..31, the key and the meta
//	36      key, meta
//	        body in blocks: up to 64 KiB of data followed by the CRC-32C of that data
//
// A tombstone carries only the key; a meta update carries the key and the new meta and
// applies to the key's current body. A solo record's header is all zeros until Commit writes
// it, so a large object cut short by a crash is never taken for a valid one.
//
// # Hint (seg-N.hint)
//
//	0 4 magic "PXH1"; 4 1 version; 8 4 segment sequence; 12 8 segment size the hint
//	describes; 20 4 record count; 24 8 written-at (unix ns); then per record 17 bytes:
//	xxhash64(key) 8, offset 4, record length 4, flags 1; then a CRC-32C of all before.
//
// A hint whose CRC, sequence or size does not match its segment is ignored and the segment
// is scanned instead (then a new hint is written).
//
// # Index and rebuild
//
// The index maps xxhash64(key) to {body segment, offset, meta segment, offset, record length}
// (about 40 bytes per object with the map's overhead); reads compare the key stored in the
// record, so a hash collision is a miss, never a wrong object. Open replays segments in
// sequence order: from the header of a solo segment, from the hint of a sealed one, else by
// a scan that verifies every header and body checksum. A scan skips a record whose header
// fails (resynchronising on the next header that verifies) and treats a record whose body
// fails as a tombstone of its key; a tail that holds no further valid record (a crash in the
// middle of an append) is truncated. These are counted in Stats.CorruptDropped and
// Stats.TornTails.
//
// Records read through a hint are verified when read: a small object whole before Get
// returns it, a large one block by block as NewReader streams it. A record found corrupt is
// dropped from the index and shadowed by a tombstone, and never returned.
//
// # Eviction and errors
//
// When the segment bytes exceed DiskBytes the oldest sealed segment is deleted whole: its
// index entries are removed and the file unlinked; readers holding it keep its open file
// descriptor until they Release. A failed write (ENOSPC or any error) evicts the oldest
// segment and retries once; if it fails again the segment is truncated back to before the
// record, the write fails, and the key is dropped from both tiers (its older version is stale
// now); no index entry ever points at bytes that were not fully written.
package store
