package router

import (
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pixcdn/pixcdn/internal/rendezvous"
)

// Reason says how a client's POP was chosen (the metrics' reason label).
type Reason uint8

// The reasons, in the order a decision tries them.
const (
	ReasonCoverage Reason = iota // the coverage-zone file names the client's network
	ReasonGeo                    // GeoIP placed the client; the nearest POP
	ReasonFallback               // neither: the default POP
	ReasonOverflow               // the chosen POP had no healthy node: the next-nearest that has one
	ReasonNone                   // no POP has a healthy node
	numReasons
)

var reasonNames = [numReasons]string{"coverage", "geo", "fallback", "overflow", "none"}

func (r Reason) String() string { return reasonNames[r] }

// maxAnswers bounds the nodes one decision returns.
const maxAnswers = 32

// Decision is one answer: a POP, why, and the chosen nodes (indexes into the POP's healthy
// nodes), best first. It lives on the caller's stack.
type Decision struct {
	POP    int // index in table.pops; -1 with ReasonNone
	Reason Reason
	Nodes  []int // the chosen nodes: table.pops[POP].healthy[i]
	buf    [maxAnswers]int
}

// table is one immutable view of everything a decision reads. A change (nodes, health, load,
// files) builds a new one and swaps it in.
type table struct {
	pops       []tpop
	popIndex   map[string]int
	cov        *Coverage
	covPOP     []int // coverage zone index → POP index, -1 for a zone without a POP
	geo        *geoDB
	defaultPOP int // -1: none (the first POP)
	domains    map[string]bool
	wildcards  []string // "example.com" for "*.example.com"
	anyHost    bool     // "*": every name
	nodes      map[string]*tnode
	// counters are the answers' series, [mode][pop][reason], resolved when the table is
	// built, so counting an answer is one atomic add with no label lookup.
	counters [numModes][][numReasons]prometheus.Counter
}

type tpop struct {
	name      string
	vec       [3]float64 // unit vector of its coordinates
	hasCoords bool
	all       []*tnode
	healthy   []*tnode
	byKey     *rendezvous.Set // healthy nodes, equal weights: a URL keeps its node while load moves
	bySpare   *rendezvous.Set // healthy nodes weighted by spare capacity: DNS answers
	order     []int           // the other POPs by distance, for overflow
}

type tnode struct {
	Node
	pop    string
	up     bool // probes pass
	loaded bool // past a load threshold
	spare  float64
}

// popFor places a client: coverage zone, else GeoIP's nearest POP, else the default.
func (t *table) popFor(client netip.Addr) (int, Reason, int) {
	if z, bits := t.cov.Lookup(client); z >= 0 && t.covPOP[z] >= 0 {
		return t.covPOP[z], ReasonCoverage, bits
	}
	if lat, lon, ok := t.geo.locate(client); ok {
		if p := t.nearest(unitVector(lat, lon)); p >= 0 {
			return p, ReasonGeo, 0
		}
	}
	if t.defaultPOP >= 0 {
		return t.defaultPOP, ReasonFallback, 0
	}
	return 0, ReasonFallback, 0
}

// nearest is the POP with coordinates closest to v (largest dot product of unit vectors).
func (t *table) nearest(v [3]float64) int {
	best, bestDot := -1, -2.0
	for i := range t.pops {
		p := &t.pops[i]
		if !p.hasCoords {
			continue
		}
		if d := p.vec[0]*v[0] + p.vec[1]*v[1] + p.vec[2]*v[2]; d > bestDot {
			best, bestDot = i, d
		}
	}
	return best
}

// decide fills d for a client and, in HTTP mode, the object's key ("" in DNS mode: the
// client's network is the key, so one network's clients stick to the same nodes). n nodes at
// most. scopeBits is how much of the client's address the answer depends on (the scope of an
// EDNS Client Subnet answer). It allocates nothing.
func (t *table) decide(client netip.Addr, key string, n int, d *Decision) (scopeBits int) {
	if len(t.pops) == 0 {
		d.POP, d.Reason, d.Nodes = -1, ReasonNone, d.buf[:0]
		return 0
	}
	p, reason, bits := t.popFor(client)
	if len(t.pops[p].healthy) == 0 {
		p, reason = t.overflow(p)
	}
	d.POP, d.Reason = p, reason
	if p < 0 {
		d.Nodes = d.buf[:0]
		return bits
	}
	n = min(n, maxAnswers)
	keep := hashBits(client, bits)
	if key != "" {
		d.Nodes = t.pops[p].byKey.Ranked(d.buf[:0], key, n)
	} else {
		d.Nodes = t.pops[p].bySpare.RankedHash(d.buf[:0], clientHash(client, keep), n)
	}
	return keep
}

// hashBits is how much of a client's address picks its nodes inside a POP: its /24 (IPv4) or
// /48 (IPv6), or the coverage prefix that placed it when that is longer.
func hashBits(a netip.Addr, bits int) int {
	if a.Is4() {
		return max(min(bits, 32), 24)
	}
	return max(min(bits, 64), 48)
}

// overflow is the nearest POP to p that has a healthy node.
func (t *table) overflow(p int) (int, Reason) {
	for _, o := range t.pops[p].order {
		if len(t.pops[o].healthy) > 0 {
			return o, ReasonOverflow
		}
	}
	return -1, ReasonNone
}

// clientHash hashes the client's network (its first keep bits), so one network's clients
// share answers while networks spread over the nodes.
func clientHash(a netip.Addr, keep int) uint64 {
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v &^= (1<<(32-keep) - 1) & 0xffffffff
		return mixU64(uint64(v) | 4<<32)
	}
	b := a.As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	hi &^= 1<<(64-keep) - 1
	return mixU64(hi ^ 6)
}

func mixU64(x uint64) uint64 {
	var b [8]byte
	for i := range b {
		b[i] = byte(x >> (8 * i))
	}
	return xxhash.Sum64(b[:])
}

func unitVector(lat, lon float64) [3]float64 {
	la, lo := lat*math.Pi/180, lon*math.Pi/180
	return [3]float64{math.Cos(la) * math.Cos(lo), math.Cos(la) * math.Sin(lo), math.Sin(la)}
}

// served reports whether a host name is one of the domains.
func (t *table) served(host string) bool {
	if t.anyHost || t.domains[host] {
		return true
	}
	if _, rest, ok := strings.Cut(host, "."); ok {
		return slices.Contains(t.wildcards, rest)
	}
	return false
}

// buildTable makes the table for a topology, the coverage file, the GeoIP database and the
// nodes' health (by node name; a node without an entry is up).
func buildTable(top *Topology, cov *Coverage, geo *geoDB, health map[string]nodeHealth) *table {
	t := &table{popIndex: map[string]int{}, cov: cov, geo: geo, defaultPOP: -1, domains: map[string]bool{}, nodes: map[string]*tnode{}}
	for _, d := range top.Domains {
		if d == "*" {
			t.anyHost = true
		} else if rest, ok := strings.CutPrefix(d, "*."); ok {
			t.wildcards = append(t.wildcards, rest)
		} else {
			t.domains[d] = true
		}
	}
	for _, p := range top.POPs {
		tp := tpop{name: p.Name}
		lat, lon, has := p.Lat, p.Lon, p.HasCoords
		if !has && cov != nil { // the coverage file may hold the POP's coordinates
			for _, z := range cov.Zones {
				if z.Name == p.Name && z.HasCoords {
					lat, lon, has = z.Lat, z.Lon, true
				}
			}
		}
		tp.vec, tp.hasCoords = unitVector(lat, lon), has
		var keyNodes, spareNodes []rendezvous.Node
		for _, n := range p.Nodes {
			h, ok := health[n.Name]
			tn := &tnode{Node: n, pop: p.Name, up: !ok || h.up, loaded: ok && h.loaded, spare: 1}
			if ok {
				tn.spare = h.spare
			}
			tp.all = append(tp.all, tn)
			t.nodes[n.Name] = tn
			if tn.up && !tn.loaded {
				tp.healthy = append(tp.healthy, tn)
			}
		}
		// The sets sort by name; keep healthy in the same order so indexes agree.
		slices.SortFunc(tp.healthy, func(a, b *tnode) int { return strings.Compare(a.Name, b.Name) })
		for _, n := range tp.healthy {
			keyNodes = append(keyNodes, rendezvous.Node{Name: n.Name, Weight: 1})
			spareNodes = append(spareNodes, rendezvous.Node{Name: n.Name, Weight: n.Weight * max(n.spare, 0.05)})
		}
		tp.byKey, tp.bySpare = rendezvous.New(keyNodes), rendezvous.New(spareNodes)
		t.popIndex[p.Name] = len(t.pops)
		t.pops = append(t.pops, tp)
	}
	if i, ok := t.popIndex[top.DefaultPOP]; ok {
		t.defaultPOP = i
	}
	t.covPOP = make([]int, 0)
	if cov != nil {
		for _, z := range cov.Zones {
			i, ok := t.popIndex[z.Name]
			if !ok {
				i = -1
			}
			t.covPOP = append(t.covPOP, i)
		}
	}
	t.orderPOPs()
	return t
}

// orderPOPs gives each POP the others by distance (those without coordinates last, in file
// order), its overflow order.
func (t *table) orderPOPs() {
	for i := range t.pops {
		p := &t.pops[i]
		for j := range t.pops {
			if j != i {
				p.order = append(p.order, j)
			}
		}
		dist := func(j int) float64 {
			q := &t.pops[j]
			if !p.hasCoords || !q.hasCoords {
				return 10 + float64(j) // after every real distance (at most 2), in file order
			}
			return 1 - (p.vec[0]*q.vec[0] + p.vec[1]*q.vec[1] + p.vec[2]*q.vec[2])
		}
		slices.SortStableFunc(p.order, func(a, b int) int {
			da, db := dist(a), dist(b)
			switch {
			case da < db:
				return -1
			case da > db:
				return 1
			}
			return 0
		})
	}
}
