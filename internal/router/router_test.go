package router

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestTrieLongestPrefix(t *testing.T) {
	tr := newPrefixTrie()
	prefixes := []string{"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "0.0.0.0/0"}
	for i, p := range prefixes {
		tr.insert(netip.MustParsePrefix(p), int32(i))
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		if rnd.IntN(2) == 0 {
			b[0], b[1] = 10, byte(rnd.IntN(3))
		}
		a := netip.AddrFrom4(b)
		want, wantBits := int32(-1), 0
		for i, p := range prefixes { // brute force: the longest that contains a
			pp := netip.MustParsePrefix(p)
			if pp.Contains(a) && pp.Bits() >= wantBits {
				want, wantBits = int32(i), pp.Bits()
			}
		}
		if got, bits := tr.lookup(a); got != want || bits != wantBits {
			t.Fatalf("%s: got %d/%d, want %d/%d", a, got, bits, want, wantBits)
		}
	}
}

func TestParseCoverage(t *testing.T) {
	c := mustCoverage(t)
	for addr, want := range map[string]string{
		"198.51.100.7": "fra", "10.1.9.9": "fra", "10.1.2.3": "iad", "203.0.113.1": "iad",
		"2001:db8:1::5": "fra", "2001:db8:2:0:1::": "iad", "::ffff:198.51.100.7": "fra", "8.8.8.8": "", "2001:db8:3::1": "",
	} {
		z, _ := c.Lookup(netip.MustParseAddr(addr))
		got := ""
		if z >= 0 {
			got = c.Zones[z].Name
		}
		if got != want {
			t.Errorf("%s: zone %q, want %q", addr, got, want)
		}
	}
	for doc, want := range map[string]string{
		`{"coverageZones": {"a": {"network": ["10.0.0.0/33"]}}}`:                                  `coverageZones["a"].network[0]: "10.0.0.0/33" is not a CIDR`,
		`{"coverageZones": {"a": {"network": ["2001:db8::/32"]}}}`:                                "belongs under network6",
		`{"coverageZones": {"a": {"network": ["10.0.0.0/8"]}, "b": {"network": ["10.0.0.0/8"]}}}`: `is also in "a"`,
		`{"coverageZones": {"a": {"coordinates": {"latitude": 91, "longitude": 0}}}}`:             "want latitude in [-90, 90]",
		`{"coverageZones": {"a": {"networks": []}}}`:                                              `unknown field "networks"`,
		"{\"coverageZones\": {\n\"a\": {\"network\": [1]}}}":                                      "zones.json: line 2:",
		`{}`: `no "coverageZones"`,
	} {
		if _, err := ParseCoverage([]byte(doc), "zones.json"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
}

func TestParseNodes(t *testing.T) {
	top := mustNodes(t)
	if len(top.POPs) != 3 || top.POPs[0].Nodes[2].Weight != 2 || top.POPs[0].Nodes[1].Weight != 1 || top.DefaultPOP != "iad" {
		t.Fatalf("%+v", top)
	}
	bad := `domains: ["bad domain"]
default_pop: nowhere
pops:
  - name: a
    latitude: 10
    nodes:
      - {name: n1, ipv4: "2001:db8::1", url: "ftp://x"}
      - {name: n1, ipv6: 10.0.0.1}
      - {name: n3}
      - {name: n4, ipv4: 10.0.0.4, colour: blue}
`
	_, err := ParseNodes([]byte(bad), "nodes.yaml")
	if err == nil || !strings.Contains(err.Error(), "nodes.yaml:10: pops[0].nodes[3].colour: unknown field") {
		t.Fatalf("decode errors: %v", err)
	}
	bad = strings.Replace(bad, ", colour: blue", "", 1)
	_, err = ParseNodes([]byte(bad), "nodes.yaml")
	for _, want := range []string{
		"nodes.yaml:1: domains[0]", "nodes.yaml:2: default_pop", "nodes.yaml:4: pops[0]: latitude and longitude go together",
		"nodes.yaml:7: pops[0].nodes[0].ipv4", "nodes.yaml:7: pops[0].nodes[0].url", "nodes.yaml:8: pops[0].nodes[1].name: \"n1\" is used twice",
		"nodes.yaml:8: pops[0].nodes[1].ipv6", "nodes.yaml:9: pops[0].nodes[2].ipv4: a node needs ipv4 or ipv6",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

// route decides for a client and names the POP, the reason and the nodes.
func route(tb *table, client, key string, n int) (string, Reason, []string) {
	var d Decision
	tb.decide(netip.MustParseAddr(client), key, n, &d)
	if d.POP < 0 {
		return "", d.Reason, nil
	}
	var names []string
	for _, i := range d.Nodes {
		names = append(names, tb.pops[d.POP].healthy[i].Name)
	}
	return tb.pops[d.POP].name, d.Reason, names
}

func TestDecide(t *testing.T) {
	geo, err := openGeo(writeGeoDB(t, map[string][2]float64{"192.0.0.0/16": paris, "100.64.0.0/16": osaka, "8.8.8.0/24": virginia}))
	if err != nil {
		t.Fatal(err)
	}
	top := mustNodes(t)
	tb := buildTable(top, mustCoverage(t), geo, nil)
	for _, tc := range []struct {
		client, pop string
		reason      Reason
	}{
		{"198.51.100.9", "fra", ReasonCoverage},
		{"10.1.2.9", "iad", ReasonCoverage}, // the longer prefix wins
		{"2001:db8:1::9", "fra", ReasonCoverage},
		{"192.0.5.5", "fra", ReasonGeo},    // Paris: Frankfurt is nearest
		{"100.64.1.1", "nrt", ReasonGeo},   // Osaka: Tokyo
		{"8.8.8.8", "iad", ReasonGeo},      // Virginia
		{"1.1.1.1", "iad", ReasonFallback}, // nowhere: the default POP
	} {
		pop, reason, nodes := route(tb, tc.client, "", 2)
		if pop != tc.pop || reason != tc.reason || len(nodes) == 0 {
			t.Errorf("%s: %s %v %v, want %s %v", tc.client, pop, reason, nodes, tc.pop, tc.reason)
		}
	}
	// One network's clients get the same answer; a URL always goes to one node.
	_, _, a := route(tb, "198.51.100.1", "", 2)
	_, _, b := route(tb, "198.51.100.200", "", 2)
	if strings.Join(a, ",") != strings.Join(b, ",") || len(a) != 2 {
		t.Errorf("one /24, two answers: %v %v", a, b)
	}
	_, _, u1 := route(tb, "198.51.100.1", "img.example.com/a.jpg", 1)
	_, _, u2 := route(tb, "10.1.7.7", "img.example.com/a.jpg", 1)
	if len(u1) != 1 || u1[0] != u2[0] {
		t.Errorf("a URL in one POP went to %v and %v", u1, u2)
	}
	// Every fra node down: fra's clients overflow to the nearest POP with a node (iad is nearer
	// to Frankfurt than Tokyo is).
	down := map[string]nodeHealth{"fra-1": {}, "fra-2": {}, "fra-3": {}}
	tb = buildTable(top, mustCoverage(t), geo, down)
	if pop, reason, _ := route(tb, "198.51.100.9", "", 2); pop != "iad" || reason != ReasonOverflow {
		t.Errorf("overflow: %s %v", pop, reason)
	}
	// One node overloaded leaves the answers; the others stay.
	tb = buildTable(top, mustCoverage(t), geo, map[string]nodeHealth{"fra-1": {up: true, probed: true, loaded: true}})
	for i := range 50 {
		_, _, nodes := route(tb, "198.51.100.9", "k"+string(rune('a'+i)), 3)
		if strings.Contains(strings.Join(nodes, ","), "fra-1") {
			t.Fatalf("an overloaded node answered: %v", nodes)
		}
	}
	// Everything down: no answer.
	all := map[string]nodeHealth{}
	for _, p := range top.POPs {
		for _, n := range p.Nodes {
			all[n.Name] = nodeHealth{}
		}
	}
	if pop, reason, _ := route(buildTable(top, mustCoverage(t), geo, all), "198.51.100.9", "", 2); pop != "" || reason != ReasonNone {
		t.Errorf("all down: %q %v", pop, reason)
	}
}

func TestDecisionAllocatesNothing(t *testing.T) {
	geo, _ := openGeo(writeGeoDB(t, map[string][2]float64{"192.0.0.0/16": paris}))
	tb := buildTable(mustNodes(t), mustCoverage(t), geo, nil)
	for _, client := range []string{"198.51.100.9", "2001:db8:1::9", "192.0.5.5", "1.1.1.1"} {
		a := netip.MustParseAddr(client)
		var d Decision
		if n := testing.AllocsPerRun(200, func() { tb.decide(a, "", 2, &d) }); n != 0 {
			t.Errorf("%s: %v allocations per DNS decision", client, n)
		}
		if n := testing.AllocsPerRun(200, func() { tb.decide(a, "img.example.com/a.jpg?w=300", 1, &d) }); n != 0 {
			t.Errorf("%s: %v allocations per HTTP decision", client, n)
		}
	}
}

func TestHealthHysteresis(t *testing.T) {
	var h nodeHealth
	steps := []struct {
		ok      bool
		wantUp  bool
		changed bool
	}{
		{true, true, true},   // the first probe decides
		{false, true, false}, // one failure is not enough (fall 2)
		{false, false, true},
		{true, false, false}, // rise 3
		{true, false, false},
		{false, false, false}, // a failure resets the count
		{true, false, false},
		{true, false, false},
		{true, true, true},
	}
	for i, s := range steps {
		if changed := h.probeResult(s.ok, 2, 3); h.up != s.wantUp || changed != s.changed {
			t.Fatalf("step %d: up %v changed %v, want %v %v", i, h.up, changed, s.wantUp, s.changed)
		}
	}
	n := &Node{MaxRPS: 100}
	for _, s := range []struct {
		rps    float64
		loaded bool
	}{{50, false}, {100, true}, {95, true}, {89, false}} {
		h.loadResult(load{rps: s.rps}, n)
		if h.loaded != s.loaded {
			t.Fatalf("%v rps: loaded %v", s.rps, h.loaded)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	geo, _ := openGeo(writeGeoDB(b, map[string][2]float64{"192.0.0.0/16": paris, "100.64.0.0/16": osaka}))
	tb := buildTable(mustNodes(b), mustCoverage(b), geo, nil)
	for _, bc := range []struct{ name, client, key string }{
		{"dns-coverage-v4", "198.51.100.9", ""},
		{"dns-coverage-v6", "2001:db8:1::9", ""},
		{"dns-geo", "192.0.5.5", ""},
		{"dns-fallback", "1.1.1.1", ""},
		{"http-coverage", "198.51.100.9", "img.example.com/photos/2026/12/a.jpg?w=300"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a := netip.MustParseAddr(bc.client)
			var d Decision
			b.ReportAllocs()
			for b.Loop() {
				tb.decide(a, bc.key, 2, &d)
			}
		})
	}
}
