package router

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang/v2"
)

// geoDB places an address on the globe from a MaxMind-format database (GeoLite2/GeoIP2 City,
// or any .mmdb whose records have location.latitude and location.longitude).
type geoDB struct {
	r *maxminddb.Reader
	// cache maps a record's offset to its location: many networks share a record, and a hit
	// costs neither reflection nor an allocation. Direct-mapped; a collision just decodes again.
	cache [geoCacheSize]atomic.Pointer[geoEntry]
}

const geoCacheSize = 4096

type geoEntry struct {
	off      uintptr
	lat, lon float64
	ok       bool
}

type geoRecord struct {
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

func openGeo(path string) (*geoDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip %s: %w", path, err)
	}
	if err := r.Verify(); err != nil {
		r.Close()
		return nil, fmt.Errorf("geoip %s: %w", path, err)
	}
	return &geoDB{r: r}, nil
}

// locate returns the coordinates recorded for a, ok false when the database has none.
func (g *geoDB) locate(a netip.Addr) (lat, lon float64, ok bool) {
	if g == nil {
		return 0, 0, false
	}
	res := g.r.Lookup(a.Unmap())
	if !res.Found() {
		return 0, 0, false
	}
	off := res.Offset()
	slot := &g.cache[off%geoCacheSize]
	if e := slot.Load(); e != nil && e.off == off {
		return e.lat, e.lon, e.ok
	}
	var rec geoRecord
	e := &geoEntry{off: off}
	if res.Decode(&rec) == nil && rec.Location.Latitude != nil && rec.Location.Longitude != nil {
		e.lat, e.lon, e.ok = *rec.Location.Latitude, *rec.Location.Longitude, true
	}
	slot.Store(e)
	return e.lat, e.lon, e.ok
}

func (g *geoDB) close() {
	if g != nil {
		g.r.Close()
	}
}
