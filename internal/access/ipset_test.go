package access

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestIPSetTable(t *testing.T) {
	s, err := NewIPSet([]string{
		"10.0.0.0/8", "192.0.2.1", " 198.51.100.0/25 ", "198.51.100.128/25", "203.0.113.77/24",
		"2001:db8::/32", "::ffff:100.64.0.0/106", "2001:db8:ffff::1/128", "::/128",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"11.0.0.0", false}, {"9.255.255.255", false},
		{"192.0.2.1", true}, {"192.0.2.2", false}, {"192.0.2.0", false},
		{"198.51.100.0", true}, {"198.51.100.255", true}, {"198.51.101.0", false}, // merged /25s
		{"203.0.113.0", true}, {"203.0.113.255", true}, // host bits ignored
		{"::ffff:10.1.2.3", true},                                               // mapped address looks up as IPv4
		{"100.64.0.1", true}, {"100.127.255.255", true}, {"100.128.0.0", false}, // mapped prefix stored as IPv4
		{"2001:db8::1", true}, {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2001:db9::", false},
		{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
		{"::", true}, {"::1", false},
		{"fe80::1%eth0", false},
	}
	for _, tt := range tests {
		if got := s.Contains(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if s.Contains(netip.Addr{}) {
		t.Error("zero Addr contained")
	}
	if v4, v6 := s.Ranges(); v4 != 5 || v6 != 2 {
		t.Errorf("Ranges = %d, %d; want 5, 2 (2001:db8:ffff::1 inside 2001:db8::/32)", v4, v6)
	}
	var nilSet *IPSet
	if nilSet.Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Error("nil set contains")
	}
}

func TestIPSetAll(t *testing.T) {
	s, err := NewIPSet([]string{"0.0.0.0/0", "::/0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		if !s.Contains(netip.MustParseAddr(a)) {
			t.Errorf("%s not in the full set", a)
		}
	}
}

func TestIPSetErrors(t *testing.T) {
	for _, c := range []string{"", "10.0.0.0/33", "10.0.0/8", "2001:db8::/129", "example.com", "fe80::1%eth0", "10.0.0.1/-1"} {
		if _, err := NewIPSet([]string{"10.0.0.0/8", c}); err == nil {
			t.Errorf("NewIPSet accepted %q", c)
		}
	}
}

// reference is the brute-force membership the IPSet must agree with.
func reference(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func randomPrefixes(r *rand.Rand, n int) ([]netip.Prefix, []string) {
	var ps []netip.Prefix
	var ss []string
	for range n {
		var p netip.Prefix
		switch r.IntN(5) {
		case 0, 1:
			var b [4]byte
			putRandom(r, b[:])
			p = netip.PrefixFrom(netip.AddrFrom4(b), 8+r.IntN(25))
		case 2, 3:
			var b [16]byte
			putRandom(r, b[:])
			p = netip.PrefixFrom(netip.AddrFrom16(b), 16+r.IntN(113))
		default: // IPv4-mapped prefixes
			var b [4]byte
			putRandom(r, b[:])
			p = netip.PrefixFrom(netip.AddrFrom16(netip.AddrFrom4(b).As16()), 96+8+r.IntN(25))
		}
		ps = append(ps, p)
		ss = append(ss, p.String())
	}
	return ps, ss
}

func putRandom(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

// probes are addresses at and around every prefix's edges, plus random ones.
func probes(r *rand.Rand, ps []netip.Prefix) []netip.Addr {
	var out []netip.Addr
	for _, p := range ps {
		first := p.Masked().Addr()
		last := lastAddr(p)
		out = append(out, first, last, first.Prev(), last.Next())
	}
	for range 2000 {
		var b4 [4]byte
		var b16 [16]byte
		putRandom(r, b4[:])
		putRandom(r, b16[:])
		out = append(out, netip.AddrFrom4(b4), netip.AddrFrom16(b16), netip.AddrFrom16(netip.AddrFrom4(b4).As16()))
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestIPSetAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		ps, ss := randomPrefixes(r, 1+r.IntN(300))
		s, err := NewIPSet(ss)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range probes(r, ps) {
			if !a.IsValid() {
				continue
			}
			if got, want := s.Contains(a), reference(ps, a); got != want {
				t.Fatalf("round %d: Contains(%s) = %v, brute force %v", round, a, got, want)
			}
		}
	}
}

func TestIPSetContainsDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	_, ss := randomPrefixes(r, 1000)
	s, _ := NewIPSet(ss)
	a4, a6 := netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::9")
	if n := testing.AllocsPerRun(100, func() { s.Contains(a4); s.Contains(a6) }); n != 0 {
		t.Errorf("Contains allocates %v times", n)
	}
}

func TestIPRule(t *testing.T) {
	cidrs := []string{"192.0.2.0/24", "2001:db8::/32"}
	allow, err := NewIPRule(IPRuleConfig{Mode: ModeAllow, CIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	deny, _ := NewIPRule(IPRuleConfig{Mode: ModeDeny, CIDRs: cidrs})
	for _, tt := range []struct {
		addr        netip.Addr
		allow, deny bool
	}{
		{netip.MustParseAddr("192.0.2.9"), true, false},
		{netip.MustParseAddr("::ffff:192.0.2.9"), true, false},
		{netip.MustParseAddr("2001:db8::1"), true, false},
		{netip.MustParseAddr("198.51.100.1"), false, true},
		{netip.MustParseAddr("2001:db9::1"), false, true},
		{netip.Addr{}, false, false},
	} {
		if got := allow.Allowed(tt.addr); got != tt.allow {
			t.Errorf("allow: Allowed(%v) = %v", tt.addr, got)
		}
		if got := deny.Allowed(tt.addr); got != tt.deny {
			t.Errorf("deny: Allowed(%v) = %v", tt.addr, got)
		}
	}
	for _, c := range []IPRuleConfig{{Mode: "", CIDRs: cidrs}, {Mode: ModeDeny, CIDRs: []string{"x"}}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := NewIPSet([]string{"10.0.0.0/8", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" for the zero Addr
	}{
		{"untrusted remote ignores XFF", "198.51.100.7:5555", []string{"1.2.3.4"}, "198.51.100.7"},
		{"remote without port", "198.51.100.7", nil, "198.51.100.7"},
		{"IPv6 remote", "[2001:db8:9::1]:443", []string{"1.2.3.4"}, "2001:db8:9::1"},
		{"mapped remote", "[::ffff:198.51.100.7]:1", nil, "198.51.100.7"},
		{"trusted remote, no XFF", "10.0.0.1:1", nil, "10.0.0.1"},
		{"one hop", "10.0.0.1:1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"spoofed left entries ignored", "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5"},
		{"skips trusted proxies", "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.5, 10.1.1.1,10.2.2.2"}, "203.0.113.5"},
		{"across header lines", "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.5", "10.1.1.1"}, "203.0.113.5"},
		{"IPv6 proxies", "[2001:db8:1::5]:1", []string{"2001:db8:9::9, 2001:db8:1::7"}, "2001:db8:9::9"},
		{"entry with port", "10.0.0.1:1", []string{"203.0.113.5:4711"}, "203.0.113.5"},
		{"bracketed IPv6 entry", "10.0.0.1:1", []string{"[2001:db8:9::9]:80"}, "2001:db8:9::9"},
		{"mapped entry", "10.0.0.1:1", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"all trusted: leftmost", "10.0.0.1:1", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"malformed stops at last vouched", "10.0.0.1:1", []string{"203.0.113.5, garbage, 10.2.2.2"}, "10.2.2.2"},
		{"malformed rightmost: remote", "10.0.0.1:1", []string{"203.0.113.5, unknown"}, "10.0.0.1"},
		{"empty entry is malformed", "10.0.0.1:1", []string{"203.0.113.5,,10.2.2.2"}, "10.2.2.2"},
		{"empty header line", "10.0.0.1:1", []string{"203.0.113.5", ""}, "10.0.0.1"},
		{"zone dropped", "10.0.0.1:1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"bad remote", "not-an-address", []string{"203.0.113.5"}, ""},
		{"empty remote", "", nil, ""},
		{"nil trusted set", "10.0.0.1:1", []string{"203.0.113.5"}, "10.0.0.1"},
	}
	for _, tt := range tests {
		set := trusted
		if tt.name == "nil trusted set" {
			set = nil
		}
		got := ClientIP(tt.remote, tt.xff, set)
		var want netip.Addr
		if tt.want != "" {
			want = netip.MustParseAddr(tt.want)
		}
		if got != want {
			t.Errorf("%s: ClientIP(%q, %q) = %v, want %v", tt.name, tt.remote, tt.xff, got, want)
		}
	}
}

func TestClientIPDoesNotAllocate(t *testing.T) {
	trusted, _ := NewIPSet([]string{"10.0.0.0/8"})
	xff := []string{"6.6.6.6, 203.0.113.5, 10.1.1.1", "10.2.2.2"}
	if n := testing.AllocsPerRun(100, func() { ClientIP("10.0.0.1:443", xff, trusted) }); n != 0 {
		t.Errorf("ClientIP allocates %v times", n)
	}
}

func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1", "6.6.6.6, 203.0.113.5, 10.1.1.1")
	f.Add("[::ffff:10.0.0.1]:1", "[::1]:80,,")
	trusted, _ := NewIPSet([]string{"10.0.0.0/8", "::1/128"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := ClientIP(remote, []string{xff}, trusted)
		if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
			t.Fatalf("ClientIP(%q, %q) = %v: mapped or zoned", remote, xff, got)
		}
		if r := parseHostAddr(remote); r.IsValid() && !trusted.Contains(r) && got != r {
			t.Fatalf("untrusted remote %v not returned: %v", r, got)
		}
	})
}

func benchSet(b *testing.B, v6 bool) (*IPSet, []netip.Addr) {
	r := rand.New(rand.NewPCG(5, 6))
	var ss []string
	for range 10000 {
		if v6 {
			var a [16]byte
			putRandom(r, a[:])
			ss = append(ss, netip.PrefixFrom(netip.AddrFrom16(a), 24+r.IntN(41)).Masked().String())
		} else {
			var a [4]byte
			putRandom(r, a[:])
			ss = append(ss, netip.PrefixFrom(netip.AddrFrom4(a), 12+r.IntN(21)).Masked().String())
		}
	}
	s, err := NewIPSet(ss)
	if err != nil {
		b.Fatal(err)
	}
	// Half the probes fall inside a listed prefix, half anywhere.
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		var a [16]byte
		putRandom(r, a[:])
		switch {
		case i%2 == 0:
			addrs[i] = netip.MustParsePrefix(ss[r.IntN(len(ss))]).Addr()
		case v6:
			addrs[i] = netip.AddrFrom16(a)
		default:
			addrs[i] = netip.AddrFrom4([4]byte(a[:4]))
		}
	}
	return s, addrs
}

func benchmarkContains(b *testing.B, v6 bool) {
	s, addrs := benchSet(b, v6)
	b.ReportAllocs()
	n, hits := 0, 0
	for b.Loop() {
		if s.Contains(addrs[n&1023]) {
			hits++
		}
		n++
	}
	b.ReportMetric(float64(hits)/float64(n), "hit-ratio")
}

func BenchmarkIPSetContains10kV4(b *testing.B) { benchmarkContains(b, false) }
func BenchmarkIPSetContains10kV6(b *testing.B) { benchmarkContains(b, true) }

func BenchmarkClientIP(b *testing.B) {
	trusted, _ := NewIPSet([]string{"10.0.0.0/8", "172.16.0.0/12"})
	xff := []string{"6.6.6.6, 203.0.113.5, 10.1.1.1"}
	b.ReportAllocs()
	for b.Loop() {
		ClientIP("10.0.0.1:443", xff, trusted)
	}
}
