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
//
// A key may live in either of two sets chosen by independent bits of its hash (two-choice
// hashing): a new key goes to the first set with a free slot, else replaces the least recently
// seen of both sets' 16 keys. With one set per key, random hashing overflows some sets while
// others are half empty (about 14 % of keys evicted by the time MaxKeys distinct keys have
// arrived); two choices balance the sets and double the LRU sample.
func (s *shard) slot(h uint64, now int64) *state {
	a, b := s.sets(h)
	if i := s.find(a, h); i >= 0 {
		return &s.states[i]
	}
	if i := s.find(b, h); i >= 0 {
		return &s.states[i]
	}
	v, score := s.victim(a)
	if vb, scoreB := s.victim(b); scoreB < score {
		v, score = vb, scoreB
	}
	if score == empty {
		s.keys++
	} else {
		s.evictions++
	}
	s.tags[v] = h
	st := &s.states[v]
	*st = state{tat: now, blocked: math.MinInt64}
	return st
}

// sets returns the first slot of the key's two candidate sets: fast range reductions of the
// low 32 bits and of bits 26..57 (the top 6 bits pick the shard).
func (s *shard) sets(h uint64) (a, b int) {
	a = int((h & 0xffffffff) * s.nsets >> 32)
	b = int((h >> 26 & 0xffffffff) * s.nsets >> 32)
	return a * ways, b * ways
}

// find returns the slot of h in the set starting at base, or -1.
func (s *shard) find(base int, h uint64) int {
	for i, t := range s.tags[base : base+ways : base+ways] {
		if t == h {
			return base + i
		}
	}
	return -1
}

// empty is the victim score of a free slot, below any time.
const empty = math.MinInt64

// victim picks the slot of the set at base to reuse and its score, lower is better: a free
// slot, else the least recently seen. A blocked key counts as seen until its block ends, so an
// abuser that goes quiet while blocked is not forgotten before idle well-behaved keys are.
func (s *shard) victim(base int) (slot int, score int64) {
	slot, score = base, math.MaxInt64
	for i := base; i < base+ways; i++ {
		if s.tags[i] == 0 {
			return i, empty
		}
		st := &s.states[i]
		if seen := max(st.seen, st.blocked); seen < score {
			slot, score = i, seen
		}
	}
	return slot, score
}
