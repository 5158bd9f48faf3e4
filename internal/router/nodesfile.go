package router

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/pixcdn/pixcdn/internal/config"
)

// Topology is what the router routes over: the POPs, their nodes and the domains served. It
// comes from a nodes file (ParseNodes) or from the control plane.
type Topology struct {
	Domains    []string // served names: "img.example.com", "*.example.com" (one label), "*" (every name)
	DefaultPOP string   // clients no zone or GeoIP places go here
	POPs       []POP
}

// POP is one point of presence.
type POP struct {
	Name      string
	Lat, Lon  float64
	HasCoords bool
	Nodes     []Node
}

// Node is one edge node.
type Node struct {
	Name    string
	V4, V6  netip.Addr // answered in A and AAAA records; either may be invalid
	URL     string     // base URL of the node for 302 answers; default http://<node>.<domain>.<zone>
	Health  string     // URL probed (the node's admin /readyz); "" = not probed (taken as up)
	Weight  float64    // capacity share inside its POP; default 1
	MaxRPS  float64    // requests/s beyond which it leaves the answers; 0 = no limit
	MaxMbps float64    // bandwidth beyond which it leaves the answers; 0 = no limit
	MaxCPU  float64    // CPU percent (of one core) beyond which it leaves the answers; 0 = no limit
}

// nodesFile is the YAML form of a Topology (docs/router.md).
type nodesFile struct {
	Domains    []string  `yaml:"domains"`
	DefaultPOP string    `yaml:"default_pop"`
	POPs       []popFile `yaml:"pops"`
}

type popFile struct {
	Name      string     `yaml:"name"`
	Latitude  *float64   `yaml:"latitude"`
	Longitude *float64   `yaml:"longitude"`
	Nodes     []nodeFile `yaml:"nodes"`
}

type nodeFile struct {
	Name    string  `yaml:"name"`
	IPv4    string  `yaml:"ipv4"`
	IPv6    string  `yaml:"ipv6"`
	URL     string  `yaml:"url"`
	Health  string  `yaml:"health"`
	Weight  float64 `yaml:"weight"`
	MaxRPS  float64 `yaml:"max_rps"`
	MaxMbps float64 `yaml:"max_mbps"`
	MaxCPU  float64 `yaml:"max_cpu"`
}

// ParseNodes reads a nodes file strictly; every problem names the file, line and field.
func ParseNodes(data []byte, file string) (*Topology, error) {
	var f nodesFile
	lines, err := config.DecodeYAML(data, file, &f)
	if err != nil {
		return nil, err
	}
	var errs []error
	bad := func(field, msg string) { errs = append(errs, lines.Error(field, msg)) }
	t := &Topology{DefaultPOP: f.DefaultPOP}
	for i, d := range f.Domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if !validDomain(d) {
			bad(fmt.Sprintf("domains[%d]", i), fmt.Sprintf("%q is not a host name (or *.name)", d))
		}
		t.Domains = append(t.Domains, d)
	}
	if len(f.POPs) == 0 {
		bad("pops", "at least one POP is required")
	}
	popSeen, nodeSeen := map[string]bool{}, map[string]bool{}
	for i, p := range f.POPs {
		base := fmt.Sprintf("pops[%d]", i)
		if !validName(p.Name) || popSeen[p.Name] {
			bad(base+".name", fmt.Sprintf("%q: want a unique name of 1-64 letters, digits, '.', '-' or '_'", p.Name))
		}
		popSeen[p.Name] = true
		pop := POP{Name: p.Name}
		switch {
		case (p.Latitude == nil) != (p.Longitude == nil):
			bad(base, "latitude and longitude go together")
		case p.Latitude != nil && (*p.Latitude < -90 || *p.Latitude > 90 || *p.Longitude < -180 || *p.Longitude > 180):
			bad(base+".latitude", "want latitude in [-90, 90] and longitude in [-180, 180]")
		case p.Latitude != nil:
			pop.Lat, pop.Lon, pop.HasCoords = *p.Latitude, *p.Longitude, true
		}
		for j, n := range p.Nodes {
			nb := fmt.Sprintf("%s.nodes[%d]", base, j)
			node, nerrs := n.node(lines, nb)
			errs = append(errs, nerrs...)
			if nodeSeen[n.Name] {
				bad(nb+".name", fmt.Sprintf("%q is used twice", n.Name))
			}
			nodeSeen[n.Name] = true
			pop.Nodes = append(pop.Nodes, node)
		}
		t.POPs = append(t.POPs, pop)
	}
	if t.DefaultPOP != "" && !popSeen[t.DefaultPOP] {
		bad("default_pop", fmt.Sprintf("%q is not one of the pops", t.DefaultPOP))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func (n nodeFile) node(lines config.Lines, base string) (Node, []error) {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, lines.Error(base+"."+field, msg)) }
	node := Node{Name: n.Name, URL: n.URL, Health: n.Health, Weight: n.Weight, MaxRPS: n.MaxRPS, MaxMbps: n.MaxMbps, MaxCPU: n.MaxCPU}
	if !validName(n.Name) {
		bad("name", fmt.Sprintf("%q: want 1-64 letters, digits, '.', '-' or '_'", n.Name))
	}
	if n.IPv4 != "" {
		if a, err := netip.ParseAddr(n.IPv4); err != nil || !a.Is4() {
			bad("ipv4", fmt.Sprintf("%q is not an IPv4 address", n.IPv4))
		} else {
			node.V4 = a
		}
	}
	if n.IPv6 != "" {
		if a, err := netip.ParseAddr(n.IPv6); err != nil || !a.Is6() || a.Is4In6() {
			bad("ipv6", fmt.Sprintf("%q is not an IPv6 address", n.IPv6))
		} else {
			node.V6 = a
		}
	}
	if n.IPv4 == "" && n.IPv6 == "" {
		bad("ipv4", "a node needs ipv4 or ipv6 (or both)")
	}
	for field, raw := range map[string]string{"url": n.URL, "health": n.Health} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(field, fmt.Sprintf("%q is not an http(s) URL", raw))
		}
	}
	for field, v := range map[string]float64{"weight": n.Weight, "max_rps": n.MaxRPS, "max_mbps": n.MaxMbps, "max_cpu": n.MaxCPU} {
		if v < 0 {
			bad(field, fmt.Sprintf("%v must not be negative", v))
		}
	}
	if node.Weight == 0 {
		node.Weight = 1
	}
	return node, errs
}

// validDomain accepts a host name, a one-label wildcard, or "*" (every host: a catch-all
// domain, as the edges' "*").
func validDomain(d string) bool {
	if d == "*" {
		return true
	}
	d = strings.TrimPrefix(d, "*.")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
