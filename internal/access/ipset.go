package access

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// IPSet is a set of IPv4 and IPv6 addresses built from CIDRs, kept as sorted, merged, disjoint
// ranges: a lookup is one binary search over a flat slice, with no allocation and no pointer
// chasing, whatever the number of entries. IPv4-mapped IPv6 addresses and prefixes
// (::ffff:a.b.c.d) are treated as the IPv4 they carry. The zero value and nil are empty sets.
// An IPSet is immutable and safe for concurrent use.
type IPSet struct {
	v4 []range4
	v6 []range6
}

type range4 struct{ lo, hi uint32 }

// u128 is an IPv6 address as two big-endian halves, so comparison is two integer compares.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

type range6 struct{ lo, hi u128 }

// NewIPSet parses CIDRs ("192.0.2.0/24", "2001:db8::/32") and bare addresses (a /32 or /128).
// Host bits under the mask are ignored, as routers do; anything else unparsable is an error naming
// the entry.
func NewIPSet(cidrs []string) (*IPSet, error) {
	s := &IPSet{}
	for i, c := range cidrs {
		p, err := parseCIDR(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("access: ip list entry %d %q: %w", i, c, err)
		}
		s.add(p)
	}
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s, nil
}

func parseCIDR(c string) (netip.Prefix, error) {
	if !strings.Contains(c, "/") {
		a, err := netip.ParseAddr(c)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zoned address")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.ParsePrefix(c)
}

func (s *IPSet) add(p netip.Prefix) {
	p = p.Masked()
	a, bits := p.Addr(), p.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	if a.Is4() {
		b := a.As4()
		lo := binary.BigEndian.Uint32(b[:])
		s.v4 = append(s.v4, range4{lo, lo | hostMask32(bits)})
		return
	}
	lo := addr128(a)
	mhi, mlo := hostMask128(bits)
	s.v6 = append(s.v6, range6{lo, u128{lo.hi | mhi, lo.lo | mlo}})
}

func hostMask32(bits int) uint32 {
	if bits == 0 {
		return ^uint32(0)
	}
	return ^uint32(0) >> bits
}

func hostMask128(bits int) (hi, lo uint64) {
	switch {
	case bits == 0:
		return ^uint64(0), ^uint64(0)
	case bits < 64:
		return ^uint64(0) >> bits, ^uint64(0)
	case bits == 64:
		return 0, ^uint64(0)
	default:
		return 0, ^uint64(0) >> (bits - 64)
	}
}

func addr128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// merge4 sorts ranges and joins overlapping and adjacent ones.
func merge4(rs []range4) []range4 {
	slices.SortFunc(rs, func(a, b range4) int { return cmp.Compare(a.lo, b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || r.lo == out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

func merge6(rs []range6) []range6 {
	slices.SortFunc(rs, func(a, b range6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && !out[n-1].hi.less(r.lo.prev()) {
			if out[n-1].hi.less(r.hi) {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// prev is a-1, saturating at zero (a range starting at :: touches nothing before it).
func (a u128) prev() u128 {
	switch {
	case a.lo > 0:
		return u128{a.hi, a.lo - 1}
	case a.hi > 0:
		return u128{a.hi - 1, ^uint64(0)}
	}
	return a
}

// Contains reports whether a is in the set. It does not allocate.
func (s *IPSet) Contains(a netip.Addr) bool {
	if s == nil {
		return false
	}
	a = a.Unmap()
	switch {
	case a.Is4():
		b := a.As4()
		return s.contains4(binary.BigEndian.Uint32(b[:]))
	case a.Is6():
		return s.contains6(addr128(a))
	}
	return false
}

func (s *IPSet) contains4(x uint32) bool {
	// Find the first range starting after x; the one before it is the only candidate.
	lo, hi := 0, len(s.v4)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.v4[m].lo <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && x <= s.v4[lo-1].hi
}

func (s *IPSet) contains6(x u128) bool {
	lo, hi := 0, len(s.v6)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !x.less(s.v6[m].lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && !s.v6[lo-1].hi.less(x)
}

// Ranges returns how many disjoint IPv4 and IPv6 ranges the set holds after merging.
func (s *IPSet) Ranges() (v4, v6 int) {
	if s == nil {
		return 0, 0
	}
	return len(s.v4), len(s.v6)
}
