package edge

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// metaMemo remembers decoded metadata by cache key, so a hit does not decode (and allocate)
// the stored header again. An entry is used only while the store hands out the very bytes it
// was decoded from: the entry holds a pointer to them, so they cannot be reused for anything
// else, and the store never changes bytes it handed out (an update stores new ones).
type metaMemo struct {
	c *otter.Cache[string, *memoEntry]
}

type memoEntry struct {
	raw *byte
	n   int
	m   *meta
}

const memoBytes = 32 << 20

func newMetaMemo() metaMemo {
	return metaMemo{c: otter.Must(&otter.Options[string, *memoEntry]{
		MaximumWeight: memoBytes,
		// Decoded headers take a few times their encoded size.
		Weigher: func(k string, e *memoEntry) uint32 { return uint32(len(k) + 4*e.n + 256) },
	})}
}

func (mm *metaMemo) decode(key string, raw []byte) (*meta, error) {
	p := unsafe.SliceData(raw)
	if e, ok := mm.c.GetIfPresent(key); ok && e.raw == p && e.n == len(raw) {
		return e.m, nil
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return nil, err
	}
	mm.c.Set(key, &memoEntry{raw: p, n: len(raw), m: m})
	return m, nil
}

// hitHeaders are the per-response header values of a plain hit, kept on the meta while they
// stay the same (Age and ttl change once a second), so most hits format nothing.
type hitHeaders struct {
	ageSec, ttlSec, size            int64
	age, cacheStatus, contentLength []string
}

// plainHitHeaders returns the Age, Cache-Status and Content-Length values of a full-body hit.
func (m *meta) plainHitHeaders(now time.Time, size int64, node string) *hitHeaders {
	ageSec := int64(max(m.age(now), 0) / time.Second)
	rem := m.remaining(now)
	ttlSec := int64(rem / time.Second)
	if hh := m.hit.Load(); hh != nil && hh.ageSec == ageSec && hh.ttlSec == ttlSec && hh.size == size {
		return hh
	}
	cs := httpcache.Status{Hit: true, TTL: rem, HasTTL: true}
	hh := &hitHeaders{
		ageSec: ageSec, ttlSec: ttlSec, size: size,
		age:           []string{strconv.FormatInt(ageSec, 10)},
		cacheStatus:   []string{string(cs.Append(make([]byte, 0, 64), node))},
		contentLength: []string{strconv.FormatInt(size, 10)},
	}
	m.hit.Store(hh)
	return hh
}
