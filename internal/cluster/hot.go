package cluster

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// hotKeys estimates each key's request rate in little, fixed memory: a count-min sketch
// (4 rows of 4096 counters) whose counts are halved every second, so a count is about twice
// the key's requests per second, never below. A key is hot when its count reaches the
// threshold; the few false positives a sketch gives only cost a copy that expires.
type hotKeys struct {
	rows      [4][4096]atomic.Uint32
	threshold uint32

	mu     sync.Mutex
	now    func() time.Time
	halved atomic.Int64 // unix second of the last halving
}

func newHotKeys(perSecond float64, now func() time.Time) *hotKeys {
	h := &hotKeys{threshold: uint32(max(2*perSecond, 1)), now: now}
	h.halved.Store(now().Unix())
	return h
}

func (h *hotKeys) slots(key string) [4]uint32 {
	x := xxhash.Sum64String(key)
	y := x>>32 | x<<32
	return [4]uint32{uint32(x) % 4096, uint32(x>>16) % 4096, uint32(y>>8) % 4096, uint32(x^y>>24) % 4096}
}

// note counts one request for key and reports whether key is hot now.
func (h *hotKeys) note(key string) bool {
	h.age()
	s := h.slots(key)
	est := ^uint32(0)
	for i := range h.rows {
		est = min(est, h.rows[i][s[i]].Add(1))
	}
	return est >= h.threshold
}

// hot reports whether key is hot, without counting.
func (h *hotKeys) hot(key string) bool {
	h.age()
	s := h.slots(key)
	est := ^uint32(0)
	for i := range h.rows {
		est = min(est, h.rows[i][s[i]].Load())
	}
	return est >= h.threshold
}

// age halves every count once per elapsed second (all of them at once after a long pause).
func (h *hotKeys) age() {
	now := h.now().Unix()
	if now <= h.halved.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.halved.Load()
	if now <= last {
		return
	}
	shift := min(now-last, 32)
	for i := range h.rows {
		for j := range h.rows[i] {
			h.rows[i][j].Store(h.rows[i][j].Load() >> shift)
		}
	}
	h.halved.Store(now)
}
