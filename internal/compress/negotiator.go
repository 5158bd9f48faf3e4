package compress

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Negotiator answers Negotiate for one set of offered codings and remembers its answers:
// clients send few distinct Accept-Encoding values (a handful of browser spellings), so after
// warm-up a request costs one map read, without a lock or an allocation, instead of a parse.
// At most memoLimit values are remembered, so hostile headers cannot grow memory; others are
// parsed each time.
type Negotiator struct {
	offered []string
	memo    atomic.Pointer[map[string]string] // copied on write: written rarely, read on every request
	mu      sync.Mutex                        // serialises writers
}

const memoLimit = 512

// NewNegotiator offers the given codings (any of Brotli, Zstd, Gzip), ranked in this
// package's preference order whatever order they are given in.
func NewNegotiator(offered []string) *Negotiator {
	n := &Negotiator{}
	for _, c := range preference {
		if slices.Contains(offered, c) {
			n.offered = append(n.offered, c)
		}
	}
	n.memo.Store(&map[string]string{})
	return n
}

// Choose returns the coding for an Accept-Encoding value, Identity when none is acceptable.
func (n *Negotiator) Choose(acceptEncoding string) string {
	if acceptEncoding == "" || len(n.offered) == 0 {
		return Identity
	}
	if c, ok := (*n.memo.Load())[acceptEncoding]; ok {
		return c
	}
	c := NegotiateAmong(acceptEncoding, n.offered)
	n.mu.Lock()
	if old := *n.memo.Load(); len(old) < memoLimit {
		m := maps.Clone(old)
		m[acceptEncoding] = c
		n.memo.Store(&m)
	}
	n.mu.Unlock()
	return c
}
