package router

import (
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

func FuzzParseCoverage(f *testing.F) {
	f.Add([]byte(testCoverage))
	f.Add([]byte(`{"coverageZones": {"a": {"network": ["10.0.0.0/8", "10.0.0.0/33"], "network6": ["::/0"]}}}`))
	f.Add([]byte(`{"coverageZones": {"a": {"coordinates": {"latitude": "x"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCoverage(data, "f.json")
		if err != nil {
			return
		}
		// Whatever parsed answers lookups without panicking, and every network it took maps back
		// to a zone at least that specific.
		for i, z := range c.Zones {
			for _, p := range z.Networks {
				got, bits := c.Lookup(p.Addr())
				if got < 0 || bits < p.Bits() && got != i {
					t.Fatalf("%s of %q: zone %d /%d", p, z.Name, got, bits)
				}
			}
		}
	})
}

func FuzzParseNodes(f *testing.F) {
	f.Add([]byte(testNodes))
	f.Add([]byte("pops: [{name: a, latitude: 1, longitude: 2, nodes: [{name: n, ipv4: 10.0.0.1, max_rps: -1}]}]\n"))
	f.Add([]byte("domains: [\"*.x\"]\npops: &a [{name: a, nodes: *a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := ParseNodes(data, "f.yaml")
		if err != nil {
			return
		}
		tb := buildTable(top, nil, nil, nil)
		var d Decision
		tb.decide(netip.MustParseAddr("192.0.2.1"), "k", 4, &d)
	})
}

// FuzzDNSQuery sends any bytes that unpack as a DNS message through the query path: it must
// answer without panicking, and its answer must pack.
func FuzzDNSQuery(f *testing.F) {
	r, err := New(Config{Zone: testZone, NodesFile: writeTemp(f, testNodes), Answers: 3})
	if err != nil {
		f.Fatal(err)
	}
	defer r.Close()
	for _, q := range []struct {
		name string
		qt   uint16
	}{{"img.example.com." + testZone + ".", dns.TypeA}, {"fra-1.img.example.com." + testZone + ".", dns.TypeTXT}, {testZone + ".", dns.TypeSOA}, {"x.org.", dns.TypeA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qt)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = append(m.IsEdns0().Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: []byte{198, 51, 100, 0}})
		b, _ := m.Pack()
		f.Add(b)
	}
	resolver := netip.MustParseAddr("192.0.2.53")
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if req.Unpack(data) != nil {
			return
		}
		m := r.answerDNS(req, resolver)
		m.Truncate(512)
		if _, err := m.Pack(); err != nil {
			t.Fatalf("answer does not pack: %v\n%v", err, m)
		}
	})
}

func writeTemp(tb testing.TB, content string) string {
	tb.Helper()
	p := tb.TempDir() + "/nodes.yaml"
	if err := writeFile(p, content); err != nil {
		tb.Fatal(err)
	}
	return p
}
