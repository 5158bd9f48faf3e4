// Package rendezvous picks owners of keys among nodes by rendezvous (highest random weight)
// hashing: each node scores each key, the highest score owns it. When a node leaves, only the
// keys it owned move, spread evenly over the others; when one joins, it takes about 1/N of the
// keys from all of them, and nothing else moves. It is pure and allocation-free on the lookup
// path; the cluster (peer fill inside a POP) and the router (a URL to the node that holds it)
// share it.
package rendezvous

import (
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Node is one member: a name unique in its set and a weight (capacity; 0 counts as 1).
type Node struct {
	Name   string
	Weight float64
}

// Set is an immutable set of nodes. Build one with New; the zero Set has no nodes.
type Set struct {
	nodes   []Node
	seeds   []uint64 // hash of each node's name, so a lookup hashes the key once per node
	weights []float64
	equal   bool // every weight is the same: plain highest hash wins
}

// New makes a Set of nodes, sorted by name so equal sets give equal answers whatever the order
// given. Duplicate names keep the first.
func New(nodes []Node) *Set {
	ns := slices.Clone(nodes)
	slices.SortStableFunc(ns, func(a, b Node) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	ns = slices.CompactFunc(ns, func(a, b Node) bool { return a.Name == b.Name })
	s := &Set{nodes: ns, seeds: make([]uint64, len(ns)), weights: make([]float64, len(ns)), equal: true}
	for i, n := range ns {
		s.seeds[i] = xxhash.Sum64String(n.Name)
		w := n.Weight
		if w <= 0 {
			w = 1
		}
		s.weights[i] = w
		if i > 0 && w != s.weights[0] {
			s.equal = false
		}
	}
	return s
}

// Len is the number of nodes.
func (s *Set) Len() int { return len(s.nodes) }

// Nodes returns the nodes, sorted by name. The slice is shared: do not modify it.
func (s *Set) Nodes() []Node { return s.nodes }

// score is node i's weight for a key hash: with equal weights the mixed hash itself; with
// weights, -w / ln(u) for u the hash mapped into (0, 1), which gives each node keys in
// proportion to its weight (weighted rendezvous hashing).
func (s *Set) score(i int, kh uint64) float64 {
	h := mix(s.seeds[i] ^ kh)
	if s.equal {
		return float64(h >> 11) // 53 bits: exact in a float64, so ties are as rare as hash collisions
	}
	u := (float64(h>>11) + 0.5) / (1 << 53)
	return -s.weights[i] / math.Log(u)
}

// mix is a 64-bit finalizer (SplitMix64's), so that nodes whose names hash close together
// still score keys independently.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Owner is the index in Nodes of the node that owns key, -1 for an empty set.
func (s *Set) Owner(key string) int {
	kh := xxhash.Sum64String(key)
	best, bestScore := -1, -1.0
	for i := range s.nodes {
		if sc := s.score(i, kh); sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

// OwnerName is the name of the node that owns key, "" for an empty set.
func (s *Set) OwnerName(key string) string {
	if i := s.Owner(key); i >= 0 {
		return s.nodes[i].Name
	}
	return ""
}

// Ranked appends to dst the indexes of the first n nodes in key's order of preference (the
// owner first, then who would own it if the owner left, ...) and returns it: the failover
// order for key. n larger than the set gives every node.
func (s *Set) Ranked(dst []int, key string, n int) []int {
	return s.RankedHash(dst, xxhash.Sum64String(key), n)
}

// RankedHash is Ranked for a key already hashed with xxhash (a key that is not a string, such
// as a client's network, hashed without building one).
func (s *Set) RankedHash(dst []int, kh uint64, n int) []int {
	n = min(n, len(s.nodes))
	start := len(dst)
	var scores [32]float64 // small n stays on the stack
	sc := scores[:0]
	for i := range s.nodes {
		v := s.score(i, kh)
		// insertion into the top n, kept in dst[start:] with their scores in sc
		pos := len(sc)
		for pos > 0 && sc[pos-1] < v {
			pos--
		}
		if pos >= n {
			continue
		}
		if len(sc) < n {
			sc = append(sc, 0)
			dst = append(dst, 0)
		}
		copy(sc[pos+1:], sc[pos:len(sc)-1])
		copy(dst[start+pos+1:], dst[start+pos:len(dst)-1])
		sc[pos], dst[start+pos] = v, i
	}
	return dst
}
