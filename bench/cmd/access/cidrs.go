package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
)

// loopback is the address every benchmark client connects from; no generated CIDR may hold it,
// or the deny list would refuse the load itself.
var loopback = netip.MustParseAddr("127.0.0.1")

// GenCIDRs returns n distinct random CIDRs from seed, the first half IPv4 (/8 to /32), the rest
// IPv6 (/16 to /128), none containing 127.0.0.1. The same n and seed give the same list.
func GenCIDRs(n int, seed int64) []netip.Prefix {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	for len(out) < n {
		var p netip.Prefix
		if len(out) < n/2 {
			var b [4]byte
			putRand(r, b[:])
			p = netip.PrefixFrom(netip.AddrFrom4(b), 8+r.IntN(25)).Masked()
		} else {
			var b [16]byte
			putRand(r, b[:])
			p = netip.PrefixFrom(netip.AddrFrom16(b), 16+r.IntN(113)).Masked()
		}
		if p.Contains(loopback) || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

func putRand(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
}

// writeCIDRs prints the list as YAML list items, ready to follow "cidrs:".
func writeCIDRs(out io.Writer, n int, seed int64) error {
	for _, p := range GenCIDRs(n, seed) {
		if _, err := fmt.Fprintf(out, "          - \"%s\"\n", p); err != nil {
			return fmt.Errorf("write cidrs: %w", err)
		}
	}
	return nil
}
