package router

import (
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fastNodes adds to testNodes a POP of 30 dual-stack nodes, for answers that need truncating.
func fastNodes() string {
	var b strings.Builder
	b.WriteString(testNodes + "  - name: big\n    nodes:\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "      - {name: big-%02d, ipv4: 100.64.0.%d, ipv6: \"2001:db8:b16::%d\"}\n", i, i, i)
	}
	return b.String()
}

// newFastRouter is a router without listeners over fastNodes and the test coverage (plus
// 100.100.0.0/16 and 2001:db8:b16::/48 for big).
func newFastRouter(tb testing.TB, answers int) *Router {
	tb.Helper()
	dir := tb.TempDir()
	cov := dir + "/zones.json"
	if err := writeFile(cov, strings.Replace(testCoverage, `"nrt": {"network": []`,
		`"big": {"network": ["100.100.0.0/16"], "network6": ["2001:db8:b16::/48"]}, "nrt": {"network": []`, 1)); err != nil {
		tb.Fatal(err)
	}
	r, err := New(Config{Zone: testZone, NodesFile: writeTemp(tb, fastNodes()), CoverageFile: cov, Answers: answers})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r
}

type fastCase struct {
	name     string
	qname    string
	qtype    uint16
	edns     int // UDP size; 0: no OPT
	ecs      *dns.EDNS0_SUBNET
	extra    []dns.EDNS0
	fast     bool // the fast path takes it
	answers  int  // with the 32-answer router
	tweakHdr func(*dns.Msg)
	resolver string // the query's source; "" for the test's
}

func (c fastCase) from(def netip.Addr) netip.Addr {
	if c.resolver == "" {
		return def
	}
	return netip.MustParseAddr(c.resolver)
}

func ecs4(bits uint8, a ...byte) *dns.EDNS0_SUBNET {
	return &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: bits, Address: net.IP(a)}
}

func ecs6(bits uint8, s string) *dns.EDNS0_SUBNET {
	return &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 2, SourceNetmask: bits, Address: net.ParseIP(s)}
}

const fastName = "img.example.com." + testZone + "."

var fastCases = []fastCase{
	{name: "A", qname: fastName, qtype: dns.TypeA, fast: true},
	{name: "AAAA default POP (no IPv6): NODATA", qname: fastName, qtype: dns.TypeAAAA},
	{name: "A EDNS", qname: fastName, qtype: dns.TypeA, edns: 1232, fast: true},
	{name: "A EDNS small size", qname: fastName, qtype: dns.TypeA, edns: 100, fast: true},
	{name: "A ECS v4 /24", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(24, 198, 51, 100, 0), fast: true},
	{name: "A ECS v4 /20 host bits", qname: fastName, qtype: dns.TypeA, edns: 4096, ecs: ecs4(20, 198, 51, 111, 7), fast: true},
	{name: "A ECS v4 /32", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(32, 10, 1, 2, 3), fast: true},
	{name: "A ECS /0", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(0, 0, 0, 0, 0), fast: true},
	{name: "A ECS family 0", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET}, fast: true},
	{name: "AAAA ECS v6 /48", qname: fastName, qtype: dns.TypeAAAA, edns: 1232, ecs: ecs6(48, "2001:db8:1::"), fast: true},
	{name: "AAAA ECS v6 /56 host bits", qname: fastName, qtype: dns.TypeAAAA, edns: 1232, ecs: ecs6(56, "2001:db8:1:ff42::9"), fast: true},
	{name: "A ECS v6 mapped v4", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs6(24, "::ffff:198.51.100.0"), fast: true},
	{name: "A ECS and a cookie", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(24, 203, 0, 113, 0),
		extra: []dns.EDNS0{&dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"}}, fast: true},
	{name: "A NSID option", qname: fastName, qtype: dns.TypeA, edns: 1232, extra: []dns.EDNS0{&dns.EDNS0_NSID{Code: dns.EDNS0NSID}}},
	{name: "mixed case", qname: "IMG.Example.COM.Cdn.PixCDN.test.", qtype: dns.TypeA, edns: 1232, ecs: ecs4(24, 198, 51, 100, 0), fast: true},
	{name: "wildcard", qname: "a.static.example.com." + testZone + ".", qtype: dns.TypeA, fast: true},
	{name: "wildcard's parent", qname: "static.example.com." + testZone + ".", qtype: dns.TypeA},
	{name: "label before the domain", qname: "x.img.example.com." + testZone + ".", qtype: dns.TypeA},
	{name: "node name", qname: "fra-1.img.example.com." + testZone + ".", qtype: dns.TypeA},
	{name: "label after the zone", qname: fastName + "x.", qtype: dns.TypeA},
	{name: "zone as a label suffix", qname: "img.example.comx" + testZone + ".", qtype: dns.TypeA},
	{name: "apex", qname: testZone + ".", qtype: dns.TypeA},
	{name: "TXT", qname: fastName, qtype: dns.TypeTXT, edns: 1232, ecs: ecs4(24, 198, 51, 100, 0)},
	{name: "escaped byte", qname: `im\.g.example.com.` + testZone + ".", qtype: dns.TypeA},
	{name: "30 A without EDNS: TC", qname: fastName, qtype: dns.TypeA, resolver: "100.100.0.53", fast: true, answers: 32},
	{name: "30 A ECS: fits", qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(16, 100, 100, 0, 0), fast: true, answers: 32},
	{name: "30 AAAA ECS 512: TC", qname: fastName, qtype: dns.TypeAAAA, edns: 512, ecs: ecs4(16, 100, 100, 0, 0), fast: true, answers: 32},
	{name: "30 AAAA ECS v6 600: TC", qname: fastName, qtype: dns.TypeAAAA, edns: 600, ecs: ecs6(48, "2001:db8:b16::"), fast: true, answers: 32},
	{name: "30 AAAA ECS 4096", qname: fastName, qtype: dns.TypeAAAA, edns: 65535, ecs: ecs4(16, 100, 100, 0, 0), fast: true, answers: 32},
	{name: "RD and CD", qname: fastName, qtype: dns.TypeA, fast: true, tweakHdr: func(m *dns.Msg) { m.CheckingDisabled, m.AuthenticatedData, m.Zero = true, true, true }},
	{name: "no RD", qname: fastName, qtype: dns.TypeA, fast: true, tweakHdr: func(m *dns.Msg) { m.RecursionDesired = false }},
	{name: "a response", qname: fastName, qtype: dns.TypeA, tweakHdr: func(m *dns.Msg) { m.Response = true }},
	{name: "NOTIFY", qname: fastName, qtype: dns.TypeA, tweakHdr: func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify }},
	{name: "UPDATE", qname: fastName, qtype: dns.TypeA, tweakHdr: func(m *dns.Msg) { m.Opcode = dns.OpcodeUpdate }},
	{name: "CH class", qname: fastName, qtype: dns.TypeA, tweakHdr: func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS }},
}

func (c fastCase) pack(tb testing.TB) []byte {
	m := new(dns.Msg)
	m.SetQuestion(c.qname, c.qtype)
	if c.edns > 0 {
		m.SetEdns0(uint16(c.edns), true)
		o := m.IsEdns0()
		if c.ecs != nil {
			o.Option = append(o.Option, c.ecs)
		}
		o.Option = append(o.Option, c.extra...)
	}
	if c.tweakHdr != nil {
		c.tweakHdr(m)
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatalf("%s: %v", c.name, err)
	}
	return b
}

// sameAnswer checks the fast path's answer to b against the slow path's, unpacked; false
// when the fast path does not take b.
func sameAnswer(t testing.TB, r *Router, b []byte, resolver netip.Addr) bool {
	t.Helper()
	out := make([]byte, udpReadSize)
	n := r.fastAnswer(out, b, resolver, new(Decision))
	if n == 0 {
		return false
	}
	fast, slow := new(dns.Msg), new(dns.Msg)
	if err := fast.Unpack(out[:n]); err != nil {
		t.Fatalf("fast answer does not unpack: %v\n% x", err, out[:n])
	}
	sb := r.slowAnswerUDP(make([]byte, udpReadSize), b, resolver)
	if sb == nil {
		t.Fatalf("the slow path does not answer what the fast one does:\n%v", fast)
	}
	if err := slow.Unpack(sb); err != nil {
		t.Fatalf("slow answer does not unpack: %v", err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast answer:\n%v\nslow answer:\n%v", fast, slow)
	}
	return true
}

func TestFastDNSMatchesSlowPath(t *testing.T) {
	routers := map[int]*Router{3: newFastRouter(t, 3), 32: newFastRouter(t, 32)}
	resolver := netip.MustParseAddr("127.0.0.1")
	for _, c := range fastCases {
		t.Run(c.name, func(t *testing.T) {
			r := routers[max(c.answers, 3)]
			if got := sameAnswer(t, r, c.pack(t), c.from(resolver)); got != c.fast {
				t.Fatalf("fast path took it: %t, want %t", got, c.fast)
			}
		})
	}
	// The truncated cases are truncated, the others not.
	for _, c := range fastCases {
		if c.answers == 0 || !c.fast {
			continue
		}
		out := make([]byte, udpReadSize)
		n := routers[32].fastAnswer(out, c.pack(t), c.from(resolver), new(Decision))
		m := new(dns.Msg)
		m.Unpack(out[:n])
		if wantTC := strings.HasSuffix(c.name, "TC"); m.Truncated != wantTC || !wantTC && len(m.Answer) != 30 {
			t.Errorf("%s: TC %t, %d answers", c.name, m.Truncated, len(m.Answer))
		}
	}
}

func TestFastDNSAllocatesNothing(t *testing.T) {
	r := newFastRouter(t, 3)
	resolver := netip.MustParseAddr("192.0.2.53")
	out, d := make([]byte, udpReadSize), new(Decision)
	for _, c := range fastCases {
		if !c.fast || c.answers != 0 {
			continue
		}
		b := c.pack(t)
		if allocs := testing.AllocsPerRun(100, func() { r.fastAnswer(out, b, resolver, d) }); allocs != 0 {
			t.Errorf("%s: %.1f allocations per query", c.name, allocs)
		}
	}
}

// TestUDPLoopMatchesDNSServer sends the same datagrams to the router's UDP loop and to a
// dns.Server with the router as handler (what served UDP before), and compares the answers.
func TestUDPLoopMatchesDNSServer(t *testing.T) {
	r := newFastRouter(t, 3)
	udp, err := r.startUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: r, UDPSize: 4096}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	packets := [][]byte{
		{0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},              // no question: FORMERR
		{0x12, 0x34, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0},           // UPDATE: NOTIMP
		{0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'i', 'm'}, // cut in the question: FORMERR
	}
	for _, c := range fastCases {
		if c.tweakHdr == nil || !strings.Contains(c.name, "response") { // a response gets no answer
			packets = append(packets, c.pack(t))
		}
	}
	for i, p := range packets {
		got, want := exchangeRaw(t, udp.conns[0].LocalAddr().String(), p), exchangeRaw(t, pc.LocalAddr().String(), p)
		g, w := new(dns.Msg), new(dns.Msg)
		if g.Unpack(got) != nil || w.Unpack(want) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("packet %d (% x):\nloop:\n%v\ndns.Server:\n%v", i, p, g, w)
		}
	}
	// What dns.Server does not answer, the loop does not either.
	for _, p := range [][]byte{{1, 2, 3}, fastCases[0].pack(t)[:11]} {
		if r.answerUDP(make([]byte, udpReadSize), p, netip.MustParseAddr("127.0.0.1"), new(Decision)) != nil {
			t.Errorf("% x answered", p)
		}
	}
	resp := fastCase{qname: fastName, qtype: dns.TypeA, tweakHdr: func(m *dns.Msg) { m.Response = true }}.pack(t)
	if r.answerUDP(make([]byte, udpReadSize), resp, netip.MustParseAddr("127.0.0.1"), new(Decision)) != nil {
		t.Error("a response was answered")
	}
}

func exchangeRaw(t *testing.T, addr string, p []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("% x: %v", p, err)
	}
	return buf[:n]
}

// FuzzFastDNS feeds any bytes to the fast path: it never panics, and what it answers unpacks
// to the slow path's answer.
func FuzzFastDNS(f *testing.F) {
	r := newFastRouter(f, 32)
	for _, c := range fastCases {
		f.Add(c.pack(f))
	}
	resolver := netip.MustParseAddr("192.0.2.53")
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAnswer(t, r, data, resolver)
	})
}

func BenchmarkDNSQuery(b *testing.B) {
	r := newFastRouter(b, 2)
	resolver := netip.MustParseAddr("127.0.0.1")
	q := fastCase{qname: fastName, qtype: dns.TypeA, edns: 1232, ecs: ecs4(24, 198, 51, 100, 0)}.pack(b)
	out, d := make([]byte, udpReadSize), new(Decision)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r.fastAnswer(out, q, resolver, d) == 0 {
				b.Fatal("not taken")
			}
		}
	})
	b.Run("slow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r.slowAnswerUDP(out, q, resolver) == nil {
				b.Fatal("no answer")
			}
		}
	})
}

// TestUDPPortInUse: a port another socket holds is an error, as with one plain socket, even
// when that socket is another router's (whose sockets have SO_REUSEPORT).
func TestUDPPortInUse(t *testing.T) {
	r := newFastRouter(t, 3)
	first, err := r.startUDP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.close()
	if second, err := r.startUDP(first.conns[0].LocalAddr().String()); err == nil {
		second.close()
		t.Fatal("a second set of sockets bound the same port")
	}
}
