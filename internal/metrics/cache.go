package metrics

import (
	"sync"
	"sync/atomic"
)

// seriesCache maps a label value (a domain or origin name) to a struct of pre-resolved metric
// children, so the hot path does one lock-free map read instead of WithLabelValues, which
// hashes label strings and may allocate. The map is copy-on-write: names are few and fixed by
// configuration, so writes are rare and reads never take the lock.
type seriesCache[T any] struct {
	m     atomic.Pointer[map[string]*T]
	mu    sync.Mutex // serialises writers
	max   int
	names int // names with series of their own, excluding the overflow; guarded by mu
	build func(label string) *T
}

func newSeriesCache[T any](max int, build func(string) *T) *seriesCache[T] {
	c := &seriesCache[T]{max: max, build: build}
	empty := map[string]*T{}
	c.m.Store(&empty)
	return c
}

func (c *seriesCache[T]) get(name string) *T {
	if s, ok := (*c.m.Load())[name]; ok {
		return s
	}
	return c.add(name)
}

// add builds the series for name, or maps name to the overflow series once max names have
// their own. Overflowed names are remembered too (up to 4×max map entries) so that a caller
// repeating them stays on the lock-free path; past that they take the lock every time.
func (c *seriesCache[T]) add(name string) *T {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if s, ok := old[name]; ok {
		return s
	}
	if c.names < c.max {
		c.names++
		s := c.build(name)
		c.store(old, name, s)
		return s
	}
	s := old[OverflowLabel]
	if s == nil {
		s = c.build(OverflowLabel)
		old = c.store(old, OverflowLabel, s)
	}
	if len(old) < 4*c.max {
		c.store(old, name, s)
	}
	return s
}

func (c *seriesCache[T]) store(old map[string]*T, name string, s *T) map[string]*T {
	nm := make(map[string]*T, len(old)+1)
	for k, v := range old {
		nm[k] = v
	}
	nm[name] = s
	c.m.Store(&nm)
	return nm
}

// remove forgets every name for which keep returns false, and the overflow entry with the
// names folded into it when keep(OverflowLabel) is false. It returns the names that had series
// of their own (including OverflowLabel), for the caller to delete.
func (c *seriesCache[T]) remove(keep func(string) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	ov := old[OverflowLabel]
	keepOverflow := keep(OverflowLabel)
	nm := make(map[string]*T, len(old))
	var gone []string
	for k, v := range old {
		folded := v == ov && k != OverflowLabel
		switch {
		case folded && keepOverflow && keep(k), !folded && keep(k):
			nm[k] = v
		case !folded:
			gone = append(gone, k)
			if k != OverflowLabel {
				c.names--
			}
		}
	}
	c.m.Store(&nm)
	return gone
}
