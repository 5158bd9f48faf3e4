package edge

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/purge"
)

// Purge applies a purge on this node: it resolves each target to what the cache matches (a
// URL's key under its domain's rules, a prefix, a tag, a domain) and has the cache ban them,
// as of the purge's issue time. A purge without an ID or issue time gets them here (a local
// purge from the admin API). The same ID applied again changes nothing. It returns when
// every later request sees the purge.
func (s *Server) Purge(p purge.Purge) (purge.Result, error) {
	if p.ID == "" {
		p.ID = purge.NewID()
	}
	if p.Issued.IsZero() {
		p.Issued = s.now()
	}
	if err := p.Validate(); err != nil {
		return purge.Result{}, err
	}
	rt := s.routes.Load()
	bans := make([]objcache.Ban, 0, len(p.Targets))
	for _, t := range p.Targets {
		b, err := rt.ban(p, t)
		if err != nil {
			return purge.Result{}, err
		}
		bans = append(bans, b)
	}
	res, err := s.cache.Purge(p, bans)
	res.Node = s.nodeName
	if err == nil && res.Applied {
		s.log.Debug("purge", "id", p.ID, "kind", p.Kind, "targets", len(p.Targets), "soft", p.Soft) // the admin API and the control plane log it at info
	}
	return res, err
}

// ban resolves one purge target.
func (rt *routes) ban(p purge.Purge, target string) (objcache.Ban, error) {
	switch p.Kind {
	case purge.Tag:
		if p.Domain != "" && rt.domainNamed(p.Domain) == nil {
			return objcache.Ban{}, fmt.Errorf("%w: unknown domain %q", purge.ErrBad, p.Domain)
		}
		return objcache.Ban{Kind: purge.Tag, Domain: p.Domain, Value: target}, nil
	case purge.Domain:
		d := rt.domainNamed(target)
		if d == nil {
			return objcache.Ban{}, fmt.Errorf("%w: unknown domain %q", purge.ErrBad, target)
		}
		return objcache.Ban{Kind: purge.Domain, Domain: d.cfg.Name}, nil
	}
	d, u, err := rt.purgeURL(target)
	if err != nil {
		return objcache.Ban{}, err
	}
	if p.Kind == purge.Prefix {
		return objcache.Ban{Kind: purge.Prefix, Domain: d.cfg.Name, Value: d.policy.Keys.Base(u.Host) + u.EscapedPath()}, nil
	}
	return objcache.Ban{Kind: purge.URL, Domain: d.cfg.Name, Value: d.policy.Keys.URLKey(u.Host, u.EscapedPath(), u.RawQuery)}, nil
}

// purgeURL resolves "https://host/path?q" or "host/path?q" to its domain and URL.
func (rt *routes) purgeURL(target string) (*domain, *url.URL, error) {
	raw := target
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("%w: URL %q", purge.ErrBad, target)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	d := rt.lookup(u.Host)
	if d == nil {
		return nil, nil, fmt.Errorf("%w: no domain serves %q", purge.ErrBad, u.Host)
	}
	return d, u, nil
}

// domainNamed finds a domain by its configured name or an alias.
func (rt *routes) domainNamed(name string) *domain {
	for dc, d := range rt.domains {
		if dc.Name == name || slices.Contains(dc.Aliases, name) {
			return d
		}
	}
	return nil
}

// DomainNames lists the configured domains' names.
func (s *Server) DomainNames() []string {
	cfg := s.routes.Load().cfg
	names := make([]string, len(cfg.Domains))
	for i, d := range cfg.Domains {
		names[i] = d.Name
	}
	return names
}
