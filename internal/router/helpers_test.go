package router

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeGeoDB writes a MaxMind-format database mapping each network to a location, the way
// GeoLite2-City records them.
func writeGeoDB(t testing.TB, locations map[string][2]float64) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 28, IncludeReservedNetworks: true,
		Description: map[string]string{"en": "pixcdn test locations"}})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, ll := range locations {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"location": mmdbtype.Map{"latitude": mmdbtype.Float64(ll[0]), "longitude": mmdbtype.Float64(ll[1])}}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// Coordinates of the test POPs and places.
var (
	frankfurt = [2]float64{50.11, 8.68}
	virginia  = [2]float64{38.9, -77.0}
	tokyo     = [2]float64{35.68, 139.69}
	paris     = [2]float64{48.85, 2.35}
	osaka     = [2]float64{34.69, 135.50}
)

const testCoverage = `{"coverageZones": {
  "fra": {"network": ["198.51.100.0/24", "10.1.0.0/16"], "network6": ["2001:db8:1::/48"], "coordinates": {"latitude": 50.11, "longitude": 8.68}},
  "iad": {"network": ["203.0.113.0/24", "10.1.2.0/24"], "network6": ["2001:db8:2::/48"], "coordinates": {"latitude": 38.9, "longitude": -77.0}},
  "nrt": {"network": [], "coordinates": {"latitude": 35.68, "longitude": 139.69}}
}}`

const testNodes = `domains: [img.example.com, "*.static.example.com"]
default_pop: iad
pops:
  - name: fra
    nodes:
      - {name: fra-1, ipv4: 192.0.2.11, ipv6: "2001:db8:f::1"}
      - {name: fra-2, ipv4: 192.0.2.12}
      - {name: fra-3, ipv4: 192.0.2.13, weight: 2}
  - name: iad
    nodes:
      - {name: iad-1, ipv4: 192.0.2.21}
      - {name: iad-2, ipv4: 192.0.2.22}
  - name: nrt
    nodes:
      - {name: nrt-1, ipv4: 192.0.2.31}
`

func mustCoverage(t testing.TB) *Coverage {
	t.Helper()
	c, err := ParseCoverage([]byte(testCoverage), "zones.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustNodes(t testing.TB) *Topology {
	t.Helper()
	top, err := ParseNodes([]byte(testNodes), "nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
