package access

import (
	"fmt"
	"net/netip"
	"strings"
)

// IPRuleConfig is one domain's client address list.
type IPRuleConfig struct {
	Mode  Mode
	CIDRs []string // IPv4 and IPv6 CIDRs or bare addresses
}

// Validate reports the first problem in c.
func (c IPRuleConfig) Validate() error {
	_, err := NewIPRule(c)
	return err
}

// IPRule is an allow or deny list of addresses. It is immutable and safe for concurrent use.
type IPRule struct {
	mode Mode
	set  *IPSet
}

// NewIPRule validates cfg and builds its rule.
func NewIPRule(cfg IPRuleConfig) (*IPRule, error) {
	if err := cfg.Mode.Validate(); err != nil {
		return nil, fmt.Errorf("access: ip rule: %w", err)
	}
	set, err := NewIPSet(cfg.CIDRs)
	if err != nil {
		return nil, err
	}
	return &IPRule{mode: cfg.Mode, set: set}, nil
}

// Allowed reports whether the client at a may be served. An invalid address (the zero Addr, as
// ClientIP returns for an unparsable RemoteAddr) is refused in both modes: a list cannot vouch
// for a client it cannot place.
func (r *IPRule) Allowed(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	return r.mode.decide(r.set.Contains(a))
}

// ClientIP returns the address of the client a request came from. It is the connection's remote
// address, unless that is a trusted proxy: then X-Forwarded-For (all header lines in order, each a
// comma-separated list) is walked from the right, skipping trusted proxies, and the first address
// that is not trusted is the client — the rightmost-untrusted algorithm, which a client cannot
// spoof because only the entries our own proxies appended are believed.
//
// When every entry is trusted, the leftmost one is returned; when an entry is malformed (not an
// address, nor address:port), the walk stops and the last address vouched for is returned. Either
// way the answer is the furthest hop the trusted chain can speak for. IPv4-mapped IPv6 addresses
// come back as IPv4; zones are dropped. An unparsable remoteAddr gives the zero Addr.
// It does not allocate.
func ClientIP(remoteAddr string, xff []string, trusted *IPSet) netip.Addr {
	addr := parseHostAddr(remoteAddr)
	if !addr.IsValid() || !trusted.Contains(addr) {
		return addr
	}
	for i := len(xff) - 1; i >= 0; i-- {
		rest, more := xff[i], true
		for more {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, more = rest, false
			}
			next := parseHostAddr(strings.TrimSpace(entry))
			if !next.IsValid() {
				return addr
			}
			addr = next
			if !trusted.Contains(addr) {
				return addr
			}
		}
	}
	return addr
}

// parseHostAddr reads "addr" or "addr:port" ("[v6]:port"), unmapped and without zone. The shape
// picks the parser, so the common portless case does not build an error value.
func parseHostAddr(s string) netip.Addr {
	var a netip.Addr
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}
		}
	}
	return a.Unmap().WithZone("")
}
