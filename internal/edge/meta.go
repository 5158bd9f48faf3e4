package edge

import (
	"encoding/binary"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// Record kinds stored under a cache key.
const (
	kindObject uint8 = 1 // a response: status, header, body
	kindVary   uint8 = 2 // the primary key of a response that varies: names the request fields
	kindPass   uint8 = 3 // hit-for-pass: the last response was not cacheable, do not coalesce
)

// metaVersion 3 adds the source a derived variant was made from; version 2 records (primary
// key and tags, for purges) still decode, so an upgrade keeps the cache.
const (
	metaVersion   = 3
	metaVersionV2 = 2
)

// meta is what the edge stores next to a body. Freshness is decided once, when the response is
// stored (or revalidated), so a hit only compares times.
type meta struct {
	kind         uint8
	status       int
	mustReval    bool // must-revalidate, proxy-revalidate or s-maxage: never serve stale unvalidated
	noCache      bool // stored, but validate before every use
	requestTime  int64
	responseTime int64 // unix nanoseconds
	initialAge   time.Duration
	ttl          time.Duration
	swr, sie     time.Duration
	varyFields   []string // kindVary: the fields; kindObject: the fields it varied on
	primary      string   // the URL's cache key (domain + path + kept query): purges match it
	tags         []string // Surrogate-Key / Cache-Tag values: tag purges match them
	source       string   // a derived variant: the validator of the source it was made from
	header       http.Header

	banClean atomic.Uint64 // the ban list version this object was last found clean against

	hit     atomic.Pointer[hitHeaders]  // formatted hit headers for the current second
	textual atomic.Int32                // compressible(): 0 not known yet, 1 yes, 2 no
	codings atomic.Pointer[codingNames] // the keys of this source's codings, once asked for
}

var errBadMeta = errors.New("edge: malformed cache metadata")

func (m *meta) fresh(now time.Time) bool { return m.age(now) < m.ttl }

// age is RFC 9111 4.2.3's current_age.
func (m *meta) age(now time.Time) time.Duration {
	return m.initialAge + now.Sub(time.Unix(0, m.responseTime))
}

// remaining is the freshness left, negative once stale.
func (m *meta) remaining(now time.Time) time.Duration { return m.ttl - m.age(now) }

func (m *meta) encode() []byte {
	b := make([]byte, 0, 256)
	b = append(b, metaVersion, m.kind)
	var flags byte
	if m.mustReval {
		flags |= 1
	}
	if m.noCache {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(m.status))
	for _, v := range []int64{m.requestTime, m.responseTime, int64(m.initialAge), int64(m.ttl), int64(m.swr), int64(m.sie)} {
		b = binary.AppendVarint(b, v)
	}
	b = appendStrings(b, m.varyFields)
	b = appendString(b, m.primary)
	b = appendStrings(b, m.tags)
	b = appendString(b, m.source)
	b = binary.AppendUvarint(b, uint64(len(m.header)))
	for k, vs := range m.header {
		b = appendString(b, k)
		b = appendStrings(b, vs)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// decodeMeta parses what encode wrote. Anything else is errBadMeta: the caller drops the
// record rather than serve from it.
func decodeMeta(b []byte) (*meta, error) {
	d := decoder{b: b}
	version := d.byte()
	if version != metaVersion && version != metaVersionV2 {
		return nil, errBadMeta
	}
	m := &meta{kind: d.byte()}
	flags := d.byte()
	m.mustReval, m.noCache = flags&1 != 0, flags&2 != 0
	m.status = int(d.uvarint())
	m.requestTime, m.responseTime = d.varint(), d.varint()
	m.initialAge, m.ttl = time.Duration(d.varint()), time.Duration(d.varint())
	m.swr, m.sie = time.Duration(d.varint()), time.Duration(d.varint())
	m.varyFields = d.strings()
	m.primary = d.string()
	m.tags = d.strings()
	if version >= 3 {
		m.source = d.string()
	}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return nil, errBadMeta
	}
	m.header = make(http.Header, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		m.header[k] = d.strings()
	}
	if d.err != nil || len(d.b) != 0 || m.kind < kindObject || m.kind > kindPass {
		return nil, errBadMeta
	}
	return m, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = errBadMeta
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadMeta
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadMeta
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadMeta
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadMeta
		return nil
	}
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

// staleAsOf returns a copy of m that expired at the unix-nanosecond time at (a soft purge):
// the next request revalidates it, and stale-if-error may still serve it.
func (m *meta) staleAsOf(at int64) *meta {
	return &meta{
		kind: m.kind, status: m.status, mustReval: m.mustReval, noCache: m.noCache,
		requestTime: m.requestTime, responseTime: m.responseTime, initialAge: m.initialAge,
		ttl: max(0, m.initialAge+time.Duration(at-m.responseTime)), sie: m.sie,
		varyFields: m.varyFields, primary: m.primary, tags: m.tags, source: m.source, header: m.header,
	}
}
