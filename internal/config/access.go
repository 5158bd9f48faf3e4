package config

import (
	"fmt"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/ratelimit"
)

// Access is a domain's access control; every part is optional. The edge applies them in this
// order: IP list, User-Agent, Referer, rate limits, URL signature.
type Access struct {
	Sign       *Sign       `yaml:"sign"`
	Referer    *ListRule   `yaml:"referer"`
	UserAgent  *ListRule   `yaml:"user_agent"`
	IP         *IPList     `yaml:"ip"`
	RateLimits []RateLimit `yaml:"rate_limits"`
	// RateLimitKeys bounds the clients (keys) the rate limits track at once, and with it their
	// memory (about 32 bytes a key); the least recently seen are forgotten first. Default 100000.
	RateLimitKeys int `yaml:"rate_limit_keys"`
}

// Sign requires signed URLs of one of the common CDN types (A, B, C, F) or HMAC.
type Sign struct {
	Type      string   `yaml:"type"`       // A | B | C | F | HMAC
	Keys      []string `yaml:"keys"`       // primary first; any verifies (rotation); ${NAME} from the environment
	TTL       Duration `yaml:"ttl"`        // validity after the signed time
	ClockSkew Duration `yaml:"clock_skew"` // tolerance for timestamps in the future; default 5m
}

// ListRule is an allow or deny list of patterns (Referer hosts, User-Agents) with `*` wildcards.
type ListRule struct {
	Mode       string   `yaml:"mode"` // allow | deny
	Patterns   []string `yaml:"patterns"`
	AllowEmpty bool     `yaml:"allow_empty"` // whether a missing or empty header passes
}

// IPList is an allow or deny list of client addresses.
type IPList struct {
	Mode  string   `yaml:"mode"`  // allow | deny
	CIDRs []string `yaml:"cidrs"` // IPv4 and IPv6 CIDRs or addresses
}

// RateLimit limits requests per key (client IP, a header or a query parameter) on a path prefix.
type RateLimit struct {
	Name       string   `yaml:"name"`
	PathPrefix string   `yaml:"path_prefix"`
	Key        string   `yaml:"key"` // ip | header:NAME | query:NAME
	Requests   int      `yaml:"requests"`
	Interval   Duration `yaml:"interval"`
	Burst      int      `yaml:"burst"`
	Block      Duration `yaml:"block"` // refused this long after going over; 0 = until a token refills
}

// SignConfig is the access package's form of s.
func (s *Sign) SignConfig() access.SignConfig {
	return access.SignConfig{Type: access.SignType(s.Type), Keys: s.Keys, TTL: s.TTL.D(), ClockSkew: s.ClockSkew.D()}
}

// RateLimitConfig is the ratelimit package's form of the rules.
func (a *Access) RateLimitConfig() ratelimit.Config {
	rules := make([]ratelimit.Rule, len(a.RateLimits))
	for i, r := range a.RateLimits {
		rules[i] = ratelimit.Rule{Name: r.Name, PathPrefix: r.PathPrefix, Key: r.Key, Requests: r.Requests,
			Interval: r.Interval.D(), Burst: r.Burst, Block: r.Block.D()}
	}
	return ratelimit.Config{Rules: rules, MaxKeys: a.RateLimitKeys}
}

// validate checks each part with the package that will run it, so the edge cannot meet a
// rule it fails to build.
func (a *Access) validate(p *problems, base string) {
	if a.Sign != nil {
		if _, err := access.NewVerifier(a.Sign.SignConfig()); err != nil {
			p.add(base+".sign", err.Error())
		}
	}
	if r := a.Referer; r != nil {
		if _, err := access.NewReferer(access.RefererConfig{Mode: access.Mode(r.Mode), Patterns: r.Patterns, AllowEmpty: r.AllowEmpty}); err != nil {
			p.add(base+".referer", err.Error())
		}
	}
	if r := a.UserAgent; r != nil {
		if _, err := access.NewUARule(access.UAConfig{Mode: access.Mode(r.Mode), Patterns: r.Patterns, AllowEmpty: r.AllowEmpty}); err != nil {
			p.add(base+".user_agent", err.Error())
		}
	}
	if r := a.IP; r != nil {
		if _, err := access.NewIPRule(access.IPRuleConfig{Mode: access.Mode(r.Mode), CIDRs: r.CIDRs}); err != nil {
			p.add(base+".ip", err.Error())
		}
	}
	if len(a.RateLimits) == 0 {
		return
	}
	rc := a.RateLimitConfig()
	bad := false
	for i, r := range rc.Rules {
		if err := r.Validate(); err != nil {
			p.add(fmt.Sprintf("%s.rate_limits[%d]", base, i), err.Error())
			bad = true
		}
	}
	if err := rc.Validate(); err != nil && !bad { // what is left: duplicate names, the key bound
		p.add(base+".rate_limits", err.Error())
	}
}
