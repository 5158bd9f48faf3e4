package edge

import (
	"bytes"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// metaMemo remembers decoded metadata by cache key, so a hit does not decode (and allocate)
// the stored header again. An entry holds its own copy of the encoded bytes and is used only
// while the store hands out equal bytes (an update stores different ones). It must not keep
// the store's slice: that may share one allocation with the body, and would pin it.
type metaMemo struct {
	c *otter.Cache[string, *memoEntry]
}

type memoEntry struct {
	raw []byte
	m   *meta
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

func (mm *metaMemo) decode(key string, raw []byte) (*meta, error) {
	if e, ok := mm.c.GetIfPresent(key); ok && bytes.Equal(e.raw, raw) {
		return e.m, nil
	}
	m, err := decodeMeta(raw)
	if err != nil {
		return nil, err
	}
	mm.c.Set(key, &memoEntry{raw: bytes.Clone(raw), m: m})
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
