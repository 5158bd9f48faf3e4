package objcache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// Record kinds stored under a cache key.
const (
	RecordObject uint8 = 1 // a response: status, header, body
	RecordVary   uint8 = 2 // the primary key of a response that varies: names the request fields
	RecordPass   uint8 = 3 // hit-for-pass: the last response was not cacheable, do not coalesce
)

// metaVersion 3 adds the source a derived variant was made from; version 2 records (primary
// key and tags, for purges) still decode, so an upgrade keeps the cache.
const (
	metaVersion   = 3
	metaVersionV2 = 2
)

// Meta is what the cache stores next to a body. Freshness is decided once, when the response
// is stored (or revalidated), so a hit only compares times. A Meta handed out by the cache is
// shared between requests (the memo keeps it): its fields are read-only.
type Meta struct {
	Kind           uint8
	Status         int
	MustRevalidate bool // must-revalidate, proxy-revalidate or s-maxage: never serve stale unvalidated
	NoCache        bool // stored, but validate before every use
	RequestTime    int64
	ResponseTime   int64 // unix nanoseconds
	InitialAge     time.Duration
	TTL            time.Duration
	SWR, SIE       time.Duration // stale-while-revalidate, stale-if-error
	VaryFields     []string      // RecordVary: the fields; RecordObject: the fields it varied on
	Primary        string        // the URL's cache key: purges match it
	Tags           []string      // Surrogate-Key / Cache-Tag values: tag purges match them
	Source         string        // a derived variant: the validator of the source it was made from
	Header         http.Header

	banClean atomic.Uint64              // the ban list version this object was last found clean against
	hit      atomic.Pointer[HitHeaders] // formatted hit headers for the current second
	lazy     [MaxSlots]atomic.Value     // values front-ends derive from the record once (Lazy)
	flags    atomic.Uint32              // boolean facts front-ends derive once (Flag): 2 bits per slot
}

// ErrBadMeta is a record that does not decode: the cache drops it rather than serve from it.
var ErrBadMeta = errors.New("objcache: malformed cache metadata")

// Fresh reports whether the object is still fresh at now.
func (m *Meta) Fresh(now time.Time) bool { return m.Age(now) < m.TTL }

// Age is RFC 9111 4.2.3's current_age.
func (m *Meta) Age(now time.Time) time.Duration {
	return m.InitialAge + now.Sub(time.Unix(0, m.ResponseTime))
}

// Remaining is the freshness left, negative once stale.
func (m *Meta) Remaining(now time.Time) time.Duration { return m.TTL - m.Age(now) }

// Slot names one value a front-end derives from a record and keeps on its (memoised) Meta.
type Slot uint8

// MaxSlots is how many Slots a Meta has.
const MaxSlots = 4

// Lazy returns the value in slot, computing it with f on first use. Concurrent first uses may
// both call f; one result is kept. f must return values of one concrete type per slot.
func (m *Meta) Lazy(slot Slot, f func() any) any {
	if v := m.lazy[slot].Load(); v != nil {
		return v
	}
	v := f()
	m.lazy[slot].Store(v)
	return v
}

// Flag is Lazy for a boolean, without an interface: a hit reads it with one atomic load.
func (m *Meta) Flag(slot Slot, f func() bool) bool {
	known, yes := uint32(1)<<(2*slot), uint32(2)<<(2*slot)
	if v := m.flags.Load(); v&known != 0 {
		return v&yes != 0
	}
	set := known
	if f() {
		set |= yes
	}
	for {
		v := m.flags.Load()
		if m.flags.CompareAndSwap(v, v|set) {
			return set&yes != 0
		}
	}
}

// Encode is the record's stored form.
func (m *Meta) Encode() []byte {
	b := make([]byte, 0, 256)
	b = append(b, metaVersion, m.Kind)
	var flags byte
	if m.MustRevalidate {
		flags |= 1
	}
	if m.NoCache {
		flags |= 2
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(m.Status))
	for _, v := range []int64{m.RequestTime, m.ResponseTime, int64(m.InitialAge), int64(m.TTL), int64(m.SWR), int64(m.SIE)} {
		b = binary.AppendVarint(b, v)
	}
	b = appendStrings(b, m.VaryFields)
	b = appendString(b, m.Primary)
	b = appendStrings(b, m.Tags)
	b = appendString(b, m.Source)
	b = binary.AppendUvarint(b, uint64(len(m.Header)))
	for k, vs := range m.Header {
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

// DecodeMeta parses what Encode wrote. Anything else is ErrBadMeta.
func DecodeMeta(b []byte) (*Meta, error) {
	d := decoder{b: b}
	version := d.byte()
	if version != metaVersion && version != metaVersionV2 {
		return nil, ErrBadMeta
	}
	m := &Meta{Kind: d.byte()}
	flags := d.byte()
	m.MustRevalidate, m.NoCache = flags&1 != 0, flags&2 != 0
	m.Status = int(d.uvarint())
	m.RequestTime, m.ResponseTime = d.varint(), d.varint()
	m.InitialAge, m.TTL = time.Duration(d.varint()), time.Duration(d.varint())
	m.SWR, m.SIE = time.Duration(d.varint()), time.Duration(d.varint())
	m.VaryFields = d.strings()
	m.Primary = d.string()
	m.Tags = d.strings()
	if version >= 3 {
		m.Source = d.string()
	}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return nil, ErrBadMeta
	}
	m.Header = make(http.Header, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := d.string()
		m.Header[k] = d.strings()
	}
	if d.err != nil || len(d.b) != 0 || m.Kind < RecordObject || m.Kind > RecordPass {
		return nil, ErrBadMeta
	}
	return m, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = ErrBadMeta
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrBadMeta
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = ErrBadMeta
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrBadMeta
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = ErrBadMeta
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

// StaleAsOf returns a copy of m that expired at the unix-nanosecond time at (a soft purge):
// the next request revalidates it, and stale-if-error may still serve it.
func (m *Meta) StaleAsOf(at int64) *Meta {
	c := m.clone()
	c.TTL = max(0, m.InitialAge+time.Duration(at-m.ResponseTime))
	c.SWR = 0
	return c
}

// clone copies the record's fields (not its memos).
func (m *Meta) clone() *Meta {
	return &Meta{
		Kind: m.Kind, Status: m.Status, MustRevalidate: m.MustRevalidate, NoCache: m.NoCache,
		RequestTime: m.RequestTime, ResponseTime: m.ResponseTime, InitialAge: m.InitialAge,
		TTL: m.TTL, SWR: m.SWR, SIE: m.SIE, VaryFields: m.VaryFields, Primary: m.Primary,
		Tags: m.Tags, Source: m.Source, Header: m.Header,
	}
}

// metaMemo remembers decoded metadata by cache key, so a hit does not decode (and allocate)
// the stored header again. An entry holds its own copy of the encoded bytes and is used only
// while the store hands out equal bytes (an update stores different ones). It must not keep
// the store's slice: that may share one allocation with the body, and would pin it.
type metaMemo struct {
	c *otter.Cache[string, *memoEntry]
}

type memoEntry struct {
	raw []byte
	m   *Meta
}

// newMetaMemo sizes the memo at an eighth of the memory tier (1 to 64 MiB): it serves the
// hot set, which the memory tier holds.
func newMetaMemo(memoryTier int64) metaMemo {
	return metaMemo{c: otter.Must(&otter.Options[string, *memoEntry]{
		MaximumWeight: uint64(min(max(memoryTier/8, 1<<20), 64<<20)),
		// The copy plus the decoded header, which takes a few times the encoded size.
		Weigher: func(k string, e *memoEntry) uint32 { return uint32(len(k) + 5*len(e.raw) + 256) },
	})}
}

func (mm *metaMemo) decode(key string, raw []byte) (*Meta, error) {
	if e, ok := mm.c.GetIfPresent(key); ok && bytes.Equal(e.raw, raw) {
		return e.m, nil
	}
	m, err := DecodeMeta(raw)
	if err != nil {
		return nil, err
	}
	mm.c.Set(key, &memoEntry{raw: bytes.Clone(raw), m: m})
	return m, nil
}

// HitHeaders are the per-response header values of a plain hit, kept on the meta while they
// stay the same (Age and ttl change once a second), so most hits format nothing.
type HitHeaders struct {
	ageSec, ttlSec, size            int64
	Age, CacheStatus, ContentLength []string
}

// HitHeaders returns the Age, Cache-Status and Content-Length values of a full-body hit of
// size bytes answered by node at now.
func (m *Meta) HitHeaders(now time.Time, size int64, node string) *HitHeaders {
	ageSec := int64(max(m.Age(now), 0) / time.Second)
	rem := m.Remaining(now)
	ttlSec := int64(rem / time.Second)
	if hh := m.hit.Load(); hh != nil && hh.ageSec == ageSec && hh.ttlSec == ttlSec && hh.size == size {
		return hh
	}
	cs := httpcache.Status{Hit: true, TTL: rem, HasTTL: true}
	hh := &HitHeaders{
		ageSec: ageSec, ttlSec: ttlSec, size: size,
		Age:           []string{strconv.FormatInt(ageSec, 10)},
		CacheStatus:   []string{string(cs.Append(make([]byte, 0, 64), node))},
		ContentLength: []string{strconv.FormatInt(size, 10)},
	}
	m.hit.Store(hh)
	return hh
}
