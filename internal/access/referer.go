package access

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/maypok86/otter/v2"
)

// RefererConfig is one domain's hotlink protection.
type RefererConfig struct {
	Mode Mode
	// Patterns are host names: "example.com" (that host only), "*.example.com" (any depth of
	// subdomain, not the apex unless listed too), "img.*.example.com" (a '*' past the first label
	// stands for exactly one label). Matching is case-insensitive and ignores scheme and port.
	Patterns []string
	// AllowEmpty lets requests without a Referer through, in either mode: browsers omit it for
	// typed URLs, bookmarks and strict referrer policies. When false they are refused, in either mode.
	AllowEmpty bool
	// Schemeless also accepts a Referer without a scheme ("example.com/page"), which some
	// non-browser clients send; browsers always send an absolute URL.
	Schemeless bool
}

// Validate reports the first problem in c.
func (c RefererConfig) Validate() error {
	_, err := compileReferer(c)
	return err
}

// RefererRule decides on Referer headers. It is immutable and safe for concurrent use.
type RefererRule struct {
	mode       Mode
	allowEmpty bool
	schemeless bool
	exact      map[string]struct{}
	wild       []hostPattern
	// decided remembers recent answers by header value (pages repeat their Referer for every
	// asset); bounded, so made-up values only evict.
	decided *otter.Cache[string, bool]
}

// NewRefererRule builds a rule from a mode ("allow" or "deny"), host patterns and the
// empty-Referer switch; NewReferer takes the whole Config.
func NewRefererRule(mode Mode, patterns []string, allowEmpty bool) (*RefererRule, error) {
	return NewReferer(RefererConfig{Mode: mode, Patterns: patterns, AllowEmpty: allowEmpty})
}

// NewReferer validates cfg and builds its rule.
func NewReferer(cfg RefererConfig) (*RefererRule, error) {
	return compileReferer(cfg)
}

func compileReferer(c RefererConfig) (*RefererRule, error) {
	if err := c.Mode.Validate(); err != nil {
		return nil, fmt.Errorf("access: referer: %w", err)
	}
	r := &RefererRule{mode: c.Mode, allowEmpty: c.AllowEmpty, schemeless: c.Schemeless, exact: map[string]struct{}{},
		decided: otter.Must(&otter.Options[string, bool]{MaximumSize: refererMemoEntries})}
	for _, p := range c.Patterns {
		hp, err := parseHostPattern(p)
		if err != nil {
			return nil, fmt.Errorf("access: referer pattern %q: %w", p, err)
		}
		if hp.isExact() {
			r.exact[strings.Join(hp.labels, ".")] = struct{}{}
		} else {
			r.wild = append(r.wild, hp)
		}
	}
	return r, nil
}

// Allowed reports whether a request with this Referer header value may be served. A Referer that
// is not a URL with a host is refused in both modes: no browser sends one, so it is a crafted
// request, and letting it through would let a hotlinker bypass a deny list by garbling the header.
func (r *RefererRule) Allowed(referer string) bool {
	if ok, found := r.decided.GetIfPresent(referer); found {
		return ok
	}
	ok := r.decide(referer)
	if len(referer) <= maxMemoReferer {
		r.decided.Set(strings.Clone(referer), ok)
	}
	return ok
}

const (
	refererMemoEntries = 8192
	maxMemoReferer     = 1024
)

func (r *RefererRule) decide(referer string) bool {
	referer = strings.TrimSpace(referer)
	if referer == "" {
		return r.allowEmpty
	}
	host, ok := refererHost(referer, r.schemeless)
	if !ok {
		return false
	}
	return r.mode.decide(r.matches(host))
}

func (r *RefererRule) matches(host string) bool {
	if _, ok := r.exact[host]; ok {
		return true
	}
	for i := range r.wild {
		if r.wild[i].match(host) {
			return true
		}
	}
	return false
}

// refererHost extracts the lowercased host, without userinfo, port or trailing dot. It reads the
// authority by hand rather than through url.Parse: this runs on every request of a protected
// domain, and only the host matters. What it accepts is checked against url.Parse by a fuzz target.
func refererHost(ref string, schemeless bool) (string, bool) {
	rest := ref
	if i := strings.Index(ref, "://"); i >= 0 {
		if !validScheme(ref[:i]) {
			return "", false
		}
		rest = ref[i+3:]
	} else if !schemeless {
		return "", false
	}
	// '\' ends the authority too, as in browsers' URL parsing, so "evil.com\@example.com" is evil.com.
	if i := strings.IndexAny(rest, "/?#\\"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host, ok := stripPort(rest)
	if !ok {
		return "", false
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host, validHost(host)
}

// validScheme is RFC 3986's ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isAlnum(c) || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// stripPort splits "host:port" or "[v6]:port" (port optional, digits only) and returns the host.
func stripPort(hp string) (string, bool) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", false
		}
		host, port = hp[1:end], hp[end+1:]
		if port != "" && port[0] != ':' || !strings.Contains(host, ":") {
			return "", false
		}
	} else if i := strings.IndexByte(hp, ':'); i >= 0 {
		host, port = hp[:i], hp[i:]
	}
	if port != "" && !allDigits(port[1:]) {
		return "", false
	}
	return host, true
}

// validHost accepts DNS names of letters, digits, '-' and '_' in non-empty labels, and IP literals.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if strings.Contains(h, ":") {
		_, err := netip.ParseAddr(h)
		return err == nil
	}
	for rest, more := h, true; more; {
		var label string
		label, rest, more = strings.Cut(rest, ".")
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(isAlnum(c) || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// hostPattern is a compiled pattern: labels from left to right, '*' standing for one label, and a
// leading "*." compiled to anySub (one or more labels).
type hostPattern struct {
	labels []string
	anySub bool
}

func (p hostPattern) isExact() bool {
	if p.anySub {
		return false
	}
	for _, l := range p.labels {
		if l == "*" {
			return false
		}
	}
	return true
}

func parseHostPattern(s string) (hostPattern, error) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	var p hostPattern
	if s == "*" {
		return hostPattern{anySub: true}, nil
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		p.anySub, s = true, rest
	}
	if s == "" {
		return p, fmt.Errorf("empty")
	}
	p.labels = strings.Split(s, ".")
	plain := strings.ReplaceAll(s, "*", "x")
	if !validHost(plain) || (strings.Contains(s, "*") && strings.Contains(s, ":")) {
		return p, fmt.Errorf("want a host name with whole-label '*' wildcards (no scheme, port or path)")
	}
	for _, l := range p.labels {
		if strings.Contains(l, "*") && l != "*" {
			return p, fmt.Errorf("'*' must be a whole label")
		}
	}
	return p, nil
}

// match walks host and pattern from the right, label by label, without allocating.
func (p *hostPattern) match(host string) bool {
	rest, more := host, true
	for i := len(p.labels) - 1; i >= 0; i-- {
		if !more {
			return false
		}
		var label string
		if j := strings.LastIndexByte(rest, '.'); j >= 0 {
			label, rest = rest[j+1:], rest[:j]
		} else {
			label, rest, more = rest, "", false
		}
		if pl := p.labels[i]; label == "" || (pl != "*" && pl != label) {
			return false
		}
	}
	if p.anySub {
		return more && rest != ""
	}
	return !more
}
