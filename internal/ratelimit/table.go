package ratelimit

import (
	"math"
	"sync"
)

// ways is the associativity of the key table: a key can live in one of the 8 slots of the set
// its hash selects, and eviction picks the least recently seen of those 8 (a sampled LRU whose
// sample is fixed by the hash). 8 tags fill one 64-byte cache line.
const ways = 8

// state is one key's bucket, in nanoseconds since the Limiter's epoch. The bucket is kept as
// its theoretical arrival time (GCRA): tat-now is how much of the bucket is used, so the
// tokens left are (tau-(tat-now))/emission. That is the token bucket in one integer, exact, with
// no fixed-point rounding and no refill step.
type state struct {
	tat     int64 // the bucket is full again at tat; tat <= now means full
	blocked int64 // refused until then (Rule.Block); 0 when never blocked
	seen    int64 // last request, for eviction
}

// shard is a fixed-capacity set-associative table under one lock. It never allocates after
// newShard: a new key takes an empty slot of its set or evicts the set's least recently seen.
type shard struct {
	mu        sync.Mutex
	tags      []uint64 // key hash per slot; 0 = empty
	states    []state
	nsets     uint64
	keys      int // occupied slots
	allowed   uint64
	refusals  uint64
	evictions uint64
	_         [64]byte // keep neighbouring shards' locks off this cache line
}

func newShard(nsets int) *shard {
	return &shard{
		tags:   make([]uint64, nsets*ways),
		states: make([]state, nsets*ways),
		nsets:  uint64(nsets),
	}
}

// slot returns the state of key hash h, inserting it (with a full bucket: tat = now) when
// absent. The shard's lock must be held.
func (s *shard) slot(h uint64, now int64) *state {
	set := int(((h & 0xffffffff) * s.nsets) >> 32) // fast range reduction on the low bits
	base := set * ways
	tags := s.tags[base : base+ways : base+ways]
	for i, t := range tags {
		if t == h {
			return &s.states[base+i]
		}
	}
	victim := s.victim(base)
	if tags[victim] == 0 {
		s.keys++
	} else {
		s.evictions++
	}
	tags[victim] = h
	st := &s.states[base+victim]
	*st = state{tat: now, blocked: math.MinInt64}
	return st
}

// victim picks the slot of the set at base to reuse: an empty one, else the least recently
// seen. A blocked key counts as seen until its block ends, so an abuser that goes quiet while
// blocked is not forgotten before idle well-behaved keys are.
func (s *shard) victim(base int) int {
	best, bestSeen := 0, int64(0)
	for i := 0; i < ways; i++ {
		if s.tags[base+i] == 0 {
			return i
		}
		st := &s.states[base+i]
		seen := max(st.seen, st.blocked)
		if i == 0 || seen < bestSeen {
			best, bestSeen = i, seen
		}
	}
	return best
}
