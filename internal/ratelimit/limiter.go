package ratelimit

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"
)

// maxShards bounds lock striping: 64 shards keep two requests on different keys from sharing a
// lock most of the time on any core count an edge runs on, at 64 mutexes of memory.
const maxShards = 64

// Limiter decides requests against a Config's rules. It is safe for concurrent use.
type Limiter struct {
	rules  []compiled // longest PathPrefix first; equal lengths keep Config order
	shards []*shard
	shift  uint // shard index = hash >> shift
	epoch  time.Time
	now    func() time.Time
	cap    int
}

// compiled is a Rule ready for the hot path: integer nanoseconds, a parsed key.
type compiled struct {
	name     string
	prefix   string
	kind     int
	keyName  string
	seed     uint64 // mixed into the key hash so equal keys under different rules are distinct
	emission int64  // nanoseconds per request: Interval / Requests
	tau      int64  // bucket capacity in nanoseconds: Burst * emission
	block    int64
}

// New builds a Limiter and allocates its whole key table: memory does not grow afterwards.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := &Limiter{epoch: cfg.Now(), now: cfg.Now}
	for i, r := range cfg.Rules {
		l.rules = append(l.rules, compile(r, i))
	}
	slices.SortStableFunc(l.rules, func(a, b compiled) int { return cmp.Compare(len(b.prefix), len(a.prefix)) })
	sets := cfg.MaxKeys / ways
	nshards := min(maxShards, 1<<(bits.Len(uint(sets))-1)) // a power of two no larger than sets
	l.shift = uint(64 - bits.TrailingZeros(uint(nshards)))
	for range nshards {
		l.shards = append(l.shards, newShard(sets/nshards))
		l.cap += sets / nshards * ways
	}
	return l, nil
}

func compile(r Rule, i int) compiled {
	kind, name, err := parseKey(r.Key)
	if err != nil {
		panic(fmt.Sprintf("ratelimit: validated rule %q: %v", r.Name, err))
	}
	emission := int64(r.Interval) / int64(r.Requests)
	return compiled{
		name: r.Name, prefix: r.PathPrefix, kind: kind, keyName: name,
		seed:     (uint64(i) + 1) * 0x9e3779b97f4a7c15,
		emission: emission,
		tau:      int64(r.burst()) * emission,
		block:    int64(r.Block),
	}
}

// Allow decides one request and charges it to its key.
//
// The rule is the one with the longest PathPrefix that path starts with (equal prefixes: the
// first in Config order) and whose key is present in the request; a rule whose key is absent
// (no such header or query parameter, or an empty client IP) does not apply and the next
// matching rule is tried. This lets "header:X-Api-Key" on /api/ fall back to a per-IP rule for
// anonymous callers. Only one rule is charged per request. With no applicable rule the request
// is allowed and rule is "".
//
// When refused, retryAfter is how long until the key may succeed (the caller rounds it up to
// whole seconds for Retry-After). now is the request's time; the zero time means Config.Now().
// key must not be nil when a rule's prefix matches.
func (l *Limiter) Allow(path string, key KeySource, now time.Time) (ok bool, retryAfter time.Duration, rule string) {
	r, k := l.match(path, key)
	if r == nil {
		return true, 0, ""
	}
	if now.IsZero() {
		now = l.now()
	}
	t := int64(now.Sub(l.epoch)) // monotonic when both carry a monotonic reading
	h := xxhash.Sum64String(k) ^ r.seed
	if h == 0 { // 0 marks an empty slot
		h = 1
	}
	s := l.shards[h>>l.shift]
	s.mu.Lock()
	ok, retryAfter = r.decide(s.slot(h, t), t)
	if ok {
		s.allowed++
	} else {
		s.refusals++
	}
	s.mu.Unlock()
	return ok, retryAfter, r.name
}

func (l *Limiter) match(path string, ks KeySource) (*compiled, string) {
	for i := range l.rules {
		r := &l.rules[i]
		if !strings.HasPrefix(path, r.prefix) {
			continue
		}
		if k := r.key(ks); k != "" {
			return r, k
		}
	}
	return nil, ""
}

func (r *compiled) key(ks KeySource) string {
	switch r.kind {
	case keyHeader:
		return ks.Header(r.keyName)
	case keyQuery:
		return ks.Query(r.keyName)
	}
	return ks.ClientIP()
}

// decide is the generic cell rate algorithm on one key's state at time now.
func (r *compiled) decide(st *state, now int64) (bool, time.Duration) {
	st.seen = now
	if now < st.blocked {
		return false, time.Duration(st.blocked - now)
	}
	tat := max(st.tat, now) + r.emission
	if tat-now <= r.tau {
		st.tat = tat
		return true, 0
	}
	if r.block > 0 {
		st.blocked = now + r.block
		return false, time.Duration(r.block)
	}
	return false, time.Duration(tat - r.tau - now)
}

// Stats are counters since New.
type Stats struct {
	Keys      int    // (rule, key) pairs tracked now
	Capacity  int    // slots in the table, at most Config.MaxKeys
	Allowed   uint64 // requests allowed by a rule (requests no rule applied to are not counted)
	Refusals  uint64
	Evictions uint64 // keys forgotten to make room for new ones
}

// Stats sums the shards' counters; each shard is read under its lock, the sum is not atomic.
func (l *Limiter) Stats() Stats {
	st := Stats{Capacity: l.cap}
	for _, s := range l.shards {
		s.mu.Lock()
		st.Keys += s.keys
		st.Allowed += s.allowed
		st.Refusals += s.refusals
		st.Evictions += s.evictions
		s.mu.Unlock()
	}
	return st
}
