package store

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Record layout constants; doc.go describes the format for operators.
const (
	recMagic   = 0x31435850 // "PXC1" little-endian
	recVersion = 1
	headerLen  = 36
	blockShift = 16
	blockSize  = 1 << blockShift // body checksum granularity
	crcLen     = 4

	flagTombstone  = 1 << 0 // the key is deleted; no meta, no body
	flagMetaUpdate = 1 << 1 // replaces the meta of the key's current object; no body
	flagSolo       = 1 << 2 // the only record of a dedicated (large object) segment
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errBadHeader and errTorn classify what a scan finds; they never leave the package.
var (
	errBadHeader = errors.New("store: bad record header")
	errTorn      = errors.New("store: torn record")
)

// header is the decoded fixed part of a record.
type header struct {
	flags    uint8
	keyLen   uint32
	metaLen  uint32
	bodyLen  uint64
	storedAt int64 // unix nanoseconds, informational
}

// numBlocks is the number of checksummed body blocks.
func numBlocks(bodyLen int64) int64 { return (bodyLen + blockSize - 1) >> blockShift }

// bodyDiskLen is the on-disk length of a body: the data plus one CRC per block.
func bodyDiskLen(bodyLen int64) int64 { return bodyLen + crcLen*numBlocks(bodyLen) }

// recordLen is the total on-disk length of a record.
func (h header) recordLen() int64 {
	return headerLen + int64(h.keyLen) + int64(h.metaLen) + bodyDiskLen(int64(h.bodyLen))
}

// dataOff is the offset of the first body block relative to the record start.
func (h header) dataOff() int64 { return headerLen + int64(h.keyLen) + int64(h.metaLen) }

// putHeader encodes h into b[:headerLen] and stamps the CRC over header, key and meta.
func putHeader(b []byte, h header, key string, meta []byte) {
	binary.LittleEndian.PutUint32(b[0:], recMagic)
	b[4] = recVersion
	b[5] = h.flags
	b[6] = blockShift
	b[7] = 0
	binary.LittleEndian.PutUint32(b[8:], h.keyLen)
	binary.LittleEndian.PutUint32(b[12:], h.metaLen)
	binary.LittleEndian.PutUint64(b[16:], h.bodyLen)
	binary.LittleEndian.PutUint64(b[24:], uint64(h.storedAt))
	crc := crc32.Update(0, castagnoli, b[:32])
	crc = crc32.Update(crc, castagnoli, []byte(key))
	crc = crc32.Update(crc, castagnoli, meta)
	binary.LittleEndian.PutUint32(b[32:], crc)
}

// parseHeader decodes and sanity-checks the fixed header. The CRC is checked separately by
// checkHeader once key and meta are in hand.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerLen {
		return header{}, errTorn
	}
	if binary.LittleEndian.Uint32(b[0:]) != recMagic || b[4] != recVersion || b[6] != blockShift {
		return header{}, errBadHeader
	}
	h := header{
		flags:    b[5],
		keyLen:   binary.LittleEndian.Uint32(b[8:]),
		metaLen:  binary.LittleEndian.Uint32(b[12:]),
		bodyLen:  binary.LittleEndian.Uint64(b[16:]),
		storedAt: int64(binary.LittleEndian.Uint64(b[24:])),
	}
	if h.keyLen == 0 || h.keyLen > MaxKeyLen || h.metaLen > MaxMetaLen || h.bodyLen > 1<<50 {
		return header{}, errBadHeader
	}
	if h.flags&flagTombstone != 0 && (h.metaLen != 0 || h.bodyLen != 0) {
		return header{}, errBadHeader
	}
	return h, nil
}

// checkHeader verifies the header CRC; hdr is the 36 header bytes, km the key then meta.
func checkHeader(hdr, km []byte) bool {
	crc := crc32.Update(0, castagnoli, hdr[:32])
	crc = crc32.Update(crc, castagnoli, km)
	return crc == binary.LittleEndian.Uint32(hdr[32:])
}

// encodeRecord appends a whole record (header, key, meta, checksummed body blocks) to dst.
func encodeRecord(dst []byte, flags uint8, key string, meta, body []byte, now int64) []byte {
	h := header{flags: flags, keyLen: uint32(len(key)), metaLen: uint32(len(meta)),
		bodyLen: uint64(len(body)), storedAt: now}
	start := len(dst)
	dst = append(dst, make([]byte, headerLen)...)
	putHeader(dst[start:], h, key, meta)
	dst = append(dst, key...)
	dst = append(dst, meta...)
	for len(body) > 0 {
		n := min(len(body), blockSize)
		dst = append(dst, body[:n]...)
		dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(body[:n], castagnoli))
		body = body[n:]
	}
	return dst
}

// decoded is a record parsed from a byte slice that holds it whole.
type decoded struct {
	h    header
	key  []byte
	meta []byte
	// body is the verified body, compacted in place over the block CRCs (so it aliases the
	// input buffer).
	body []byte
}

// decodeRecord parses and fully verifies the record at the start of b. It returns errTorn
// when b is shorter than the record claims, errBadHeader for a bad header and ErrCorrupt for
// a body block that fails its checksum (the header, hence the length, is then trustworthy).
// The body is compacted in place, so b is modified.
func decodeRecord(b []byte) (decoded, error) {
	h, err := parseHeader(b)
	if err != nil {
		return decoded{}, err
	}
	n := h.recordLen()
	kmEnd := h.dataOff()
	if int64(len(b)) < kmEnd {
		return decoded{}, errTorn
	}
	if !checkHeader(b[:headerLen], b[headerLen:kmEnd]) {
		return decoded{}, errBadHeader
	}
	if int64(len(b)) < n {
		return decoded{}, errTorn
	}
	d := decoded{h: h, key: b[headerLen : headerLen+h.keyLen], meta: b[headerLen+h.keyLen : kmEnd]}
	body, ok := verifyBlocks(b[kmEnd:n], int64(h.bodyLen))
	if !ok {
		return d, ErrCorrupt
	}
	d.body = body
	return d, nil
}

// verifyBlocks checks each block's CRC in the on-disk body layout and compacts the data in
// place, returning the contiguous body.
func verifyBlocks(disk []byte, bodyLen int64) ([]byte, bool) {
	out := disk[:0]
	for remaining := bodyLen; remaining > 0; {
		n := min(remaining, blockSize)
		data, sum := disk[:n], binary.LittleEndian.Uint32(disk[n:n+crcLen])
		if crc32.Checksum(data, castagnoli) != sum {
			return nil, false
		}
		out = append(out, data...) // copy moves left, never overlaps forward
		disk = disk[n+crcLen:]
		remaining -= n
	}
	return out, true
}
