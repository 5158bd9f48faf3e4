package config

import (
	"strings"
)

// domainIndex answers Domain without scanning: exact names, and wildcards by the suffix after "*.".
type domainIndex struct {
	exact    map[string]*Domain
	wildcard map[string]*Domain // "example.com" for "*.example.com"
}

func newDomainIndex(domains []Domain) *domainIndex {
	ix := &domainIndex{exact: map[string]*Domain{}, wildcard: map[string]*Domain{}}
	for i := range domains {
		d := &domains[i]
		for _, name := range append([]string{d.Name}, d.Aliases...) {
			if suffix, ok := strings.CutPrefix(name, "*."); ok {
				ix.wildcard[suffix] = d
			} else {
				ix.exact[name] = d
			}
		}
	}
	return ix
}

// Domain returns the domain serving host (a Host header: any case, optional port, optional
// trailing dot): an exact name or alias first, then a wildcard "*.example.com", which matches one
// label, then the catch-all domain "*". It returns nil when no domain serves host.
func (c *Config) Domain(host string) *Domain {
	if d := c.namedDomain(canonicalHost(host)); d != nil {
		return d
	}
	if c.index != nil {
		return c.index.exact[CatchAll]
	}
	return c.scanDomain(CatchAll)
}

// CatchAll is the domain name that serves every host no other domain names.
const CatchAll = "*"

func (c *Config) namedDomain(host string) *Domain {
	if host == "" || host == CatchAll {
		return nil
	}
	if c.index != nil {
		if d := c.index.exact[host]; d != nil {
			return d
		}
		if label, suffix, ok := strings.Cut(host, "."); ok && label != "" {
			return c.index.wildcard[suffix]
		}
		return nil
	}
	return c.scanDomain(host)
}

// scanDomain is Domain for a Config built in Go code, which has no index.
func (c *Config) scanDomain(host string) *Domain {
	for i := range c.Domains {
		if d := &c.Domains[i]; d.Name == host || contains(d.Aliases, host) {
			return d
		}
	}
	label, suffix, ok := strings.Cut(host, ".")
	if !ok || label == "" {
		return nil
	}
	for i := range c.Domains {
		if d := &c.Domains[i]; d.Name == "*."+suffix || contains(d.Aliases, "*."+suffix) {
			return d
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// canonicalHost lowercases host and strips a port and a trailing dot; "[::1]:80" becomes "::1".
func canonicalHost(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			host = host[1:end]
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	return strings.ToLower(host)
}

// Rule returns the cache rule that applies to a URL path (without its query), or nil when none
// matches: among the rules whose Prefix and Extensions both match, the highest Priority, then
// the earliest.
func (d *Domain) Rule(urlPath string) *CacheRule {
	ext := extOf(urlPath)
	var best *CacheRule
	for i := range d.Cache.Rules {
		r := &d.Cache.Rules[i]
		if !r.matches(urlPath, ext) {
			continue
		}
		if best == nil || r.Priority > best.Priority {
			best = r
		}
	}
	return best
}

func (r *CacheRule) matches(urlPath, ext string) bool {
	if r.Prefix != "" && !strings.HasPrefix(urlPath, r.Prefix) {
		return false
	}
	if len(r.Extensions) == 0 {
		return r.Prefix != ""
	}
	if ext == "" {
		return false
	}
	for _, e := range r.Extensions {
		// Compared without the dot and case so a Config built in Go code, never normalised,
		// matches the same way.
		if strings.EqualFold(strings.TrimPrefix(e, "."), ext[1:]) {
			return true
		}
	}
	return false
}
