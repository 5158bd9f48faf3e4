package router

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/pixcdn/pixcdn/internal/config"
)

// Coverage is a coverage-zone file: for each POP (a zone), the client networks it serves and
// its coordinates. The format is Traffic Control's:
//
//	{"coverageZones": {"pop-a": {"network": ["198.51.100.0/24"], "network6": ["2001:db8::/32"],
//	                             "coordinates": {"latitude": 38.9, "longitude": -77.0}}}}
type Coverage struct {
	Zones []Zone
	v4    *prefixTrie // value: index in Zones
	v6    *prefixTrie
}

// Zone is one POP's entry.
type Zone struct {
	Name      string
	Networks  []netip.Prefix // IPv4 and IPv6
	Lat, Lon  float64
	HasCoords bool
}

type coverageFile struct {
	CoverageZones map[string]struct {
		Network     []string `json:"network"`
		Network6    []string `json:"network6"`
		Coordinates *struct {
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
		} `json:"coordinates"`
	} `json:"coverageZones"`
}

// ParseCoverage reads a coverage-zone file strictly: unknown keys, malformed networks (an
// IPv6 network under "network" or the reverse), coordinates out of range and duplicate
// networks across zones are errors naming the file and, for syntax, the line.
func ParseCoverage(data []byte, file string) (*Coverage, error) {
	var f coverageFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", file, jsonErrorAt(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the object", file)
	}
	if f.CoverageZones == nil {
		return nil, fmt.Errorf(`%s: no "coverageZones" object`, file)
	}
	c := &Coverage{v4: newPrefixTrie(), v6: newPrefixTrie()}
	names := make([]string, 0, len(f.CoverageZones))
	for n := range f.CoverageZones {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	owner := map[netip.Prefix]string{}
	for _, name := range names {
		z := f.CoverageZones[name]
		zone := Zone{Name: name}
		if !validName(name) {
			errs = append(errs, fmt.Errorf("%s: coverageZones[%q]: a POP name is 1-64 letters, digits, '.', '-' or '_'", file, name))
		}
		for field, list := range map[string][]string{"network": z.Network, "network6": z.Network6} {
			for i, s := range list {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				switch {
				case err != nil:
					errs = append(errs, fmt.Errorf("%s: coverageZones[%q].%s[%d]: %q is not a CIDR network", file, name, field, i, s))
					continue
				case p.Addr().Is4() != (field == "network"):
					errs = append(errs, fmt.Errorf("%s: coverageZones[%q].%s[%d]: %q belongs under %s", file, name, field, i, s, map[bool]string{true: "network", false: "network6"}[p.Addr().Is4()]))
					continue
				}
				p = p.Masked()
				if o, dup := owner[p]; dup {
					errs = append(errs, fmt.Errorf("%s: coverageZones[%q].%s[%d]: %s is also in %q", file, name, field, i, p, o))
					continue
				}
				owner[p] = name
				zone.Networks = append(zone.Networks, p)
			}
		}
		if co := z.Coordinates; co != nil {
			if co.Latitude == nil || co.Longitude == nil || *co.Latitude < -90 || *co.Latitude > 90 || *co.Longitude < -180 || *co.Longitude > 180 {
				errs = append(errs, fmt.Errorf("%s: coverageZones[%q].coordinates: want latitude in [-90, 90] and longitude in [-180, 180]", file, name))
			} else {
				zone.Lat, zone.Lon, zone.HasCoords = *co.Latitude, *co.Longitude, true
			}
		}
		c.Zones = append(c.Zones, zone)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i, z := range c.Zones {
		for _, p := range z.Networks {
			if p.Addr().Is4() {
				c.v4.insert(p, int32(i))
			} else {
				c.v6.insert(p, int32(i))
			}
		}
	}
	return c, nil
}

// Lookup returns the zone whose longest network contains a, and that network's length; -1
// when none does.
func (c *Coverage) Lookup(a netip.Addr) (zone int, bits int) {
	if c == nil {
		return -1, 0
	}
	a = a.Unmap()
	if a.Is4() {
		v, b := c.v4.lookup(a)
		return int(v), b
	}
	v, b := c.v6.lookup(a)
	return int(v), b
}

// jsonErrorAt says where in data a JSON error is: "line N: ...".
func jsonErrorAt(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	return fmt.Sprintf("line %d: %v", bytes.Count(data[:off], []byte("\n"))+1, err)
}

// validName accepts what node and POP names may be.
func validName(s string) bool { return config.IsName(s) }
