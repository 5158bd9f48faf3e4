package edge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// domain is the runtime form of one configured domain: what its configuration built, and the
// state that lives as long as it does (its origin's passive health and connections, rate
// limits, certificate and OCSP staple).
type domain struct {
	cfg         *config.Domain
	fingerprint string // its configuration and TLS files: equal means a reload may keep it
	policy      *objcache.Policy
	origin      origin.Origin
	ownOrigin   bool // built here (not an Options.Origins override): closed with the domain
	cert        *tls.Certificate
	guard       *guard       // nil: no access rules
	hsts        []string     // Strict-Transport-Security value for HTTPS responses; nil: none
	httpsOnly   bool         // plain HTTP is redirected to https://
	compress    *compression // nil: bodies go out as stored
	images      *imaging     // nil: no image processing
	ocsp        *ocspStapler // nil: no OCSP responder named in the certificate
	stop        context.CancelFunc
}

// routes maps request hosts to domains. It is replaced whole on reload.
type routes struct {
	cfg     *config.Config
	domains map[*config.Domain]*domain
	certs   []*tls.Certificate
}

// lookup finds the domain of a request's Host (config.Domain decides: names, aliases,
// wildcards, then the catch-all "*").
func (rt *routes) lookup(host string) *domain { return rt.domains[rt.cfg.Domain(host)] }

// buildRoutes builds the runtime of every domain of cfg, keeping the runtime of each whose
// configuration and TLS files are unchanged from old (nil at start). On an error it closes
// what it built and returns the error; old is left as it was.
func (s *Server) buildRoutes(cfg *config.Config, old *routes) (*routes, error) {
	kept := map[string]*domain{}
	if old != nil {
		for _, d := range old.domains {
			kept[d.fingerprint] = d
		}
	}
	rt := &routes{cfg: cfg, domains: make(map[*config.Domain]*domain, len(cfg.Domains))}
	var built []*domain
	for i := range cfg.Domains {
		dc := &cfg.Domains[i]
		fp, err := fingerprint(dc)
		if err == nil && kept[fp] != nil {
			rt.domains[dc] = kept[fp]
		} else {
			var d *domain
			if err == nil {
				d, err = s.newDomain(dc, fp)
			}
			if err != nil {
				for _, b := range built {
					b.close()
				}
				return nil, fmt.Errorf("domain %s: %w", dc.Name, err)
			}
			built = append(built, d)
			rt.domains[dc] = d
		}
		if d := rt.domains[dc]; d.cert != nil {
			rt.certs = append(rt.certs, d.cert)
		}
	}
	return rt, nil
}

// fingerprint hashes a domain's configuration and the bytes of its certificate and key files,
// so a reload keeps a domain's runtime only while neither changed (renewed certificates load).
func fingerprint(dc *config.Domain) (string, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(dc); err != nil {
		return "", err
	}
	if dc.TLS != nil {
		for _, f := range []string{dc.TLS.Cert, dc.TLS.Key} {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("tls: %w", err)
			}
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Server) newDomain(dc *config.Domain, fp string) (d *domain, err error) {
	d = &domain{cfg: dc, fingerprint: fp}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	d.compress = newCompression(&dc.Compress)
	d.images = newImaging(&dc.Images)
	if o := s.origins[dc.Name]; o != nil {
		d.origin = o
	} else {
		if d.origin, err = buildOrigin(&dc.Origin); err != nil {
			return d, err
		}
		d.ownOrigin = true
	}
	if d.guard, err = newGuard(&dc.Access, s.now); err != nil {
		return d, err
	}
	if dc.TLS != nil {
		d.httpsOnly = dc.TLS.HTTPSOnly
		if dc.TLS.HSTS != nil {
			d.hsts = []string{dc.TLS.HSTS.Header()}
		}
		cert, err := tls.LoadX509KeyPair(dc.TLS.Cert, dc.TLS.Key)
		if err != nil {
			return d, fmt.Errorf("tls: %w", err)
		}
		d.cert = &cert
		d.ocsp = newOCSPStapler(d.cert, s.now)
	}
	d.policy = s.policyOf(d)
	return d, nil
}

// policyOf is a domain's caching policy for the object cache.
func (s *Server) policyOf(d *domain) *objcache.Policy {
	dc := d.cfg
	c := &dc.Cache
	p := &objcache.Policy{
		Name: dc.Name,
		Keys: objcache.NewKeyer(objcache.KeyConfig{
			Name: dc.Name, ByHost: dc.KeysHost(), Headers: c.KeyHeaders,
			QueryMode: c.Query.Mode, Params: c.Query.Params, SortParams: c.Query.Sorted(),
		}),
		Origin: d.origin,
		Heuristic: httpcache.Heuristic{
			Percent: c.HeuristicPercent, Min: c.HeuristicMin.D(), Max: c.HeuristicMax.D(), Default: c.DefaultTTL.D(),
		},
		StatusTTL:         make(map[int]time.Duration, len(c.StatusTTL)),
		MaxErrorTTL:       c.MaxErrorTTL.D(),
		StaleIfOriginDown: c.StaleIfOriginDown.D(),
		IdleTimeout:       dc.Origin.ResponseTimeout.D(),
		Codings:           d.compress != nil,
		RelayHints:        dc.EarlyHints.Relay,
		HintsFromStore:    dc.EarlyHints.FromCache,
	}
	for st, ttl := range c.StatusTTL {
		p.StatusTTL[st] = ttl.D()
	}
	if len(c.Rules) > 0 {
		p.RuleTTL = func(path string) (time.Duration, bool) {
			if r := dc.Rule(path); r != nil && !r.Bypass {
				return r.TTL.D(), true
			}
			return 0, false
		}
	}
	if s.metrics != nil || s.live != nil {
		p.Observer = &domainObserver{s: s, d: d}
	}
	return p
}

// start begins a domain's background work (OCSP refreshes), once.
func (d *domain) start(log func(string, ...any)) {
	if d.stop != nil || d.ocsp == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	go d.ocsp.run(ctx, log)
}

// close ends a domain's background work and closes what it holds (its origin's idle
// connections, directory handles).
func (d *domain) close() {
	if d.stop != nil {
		d.stop()
	}
	if d.ownOrigin && d.origin != nil {
		closeOrigin(d.origin)
	}
}

// closeOrigin closes an origin, or the origin it wraps.
func closeOrigin(o origin.Origin) {
	for o != nil {
		if c, ok := o.(interface{ Close() error }); ok {
			c.Close()
			return
		}
		u, ok := o.(interface{ Unwrap() origin.Origin })
		if !ok {
			return
		}
		o = u.Unwrap()
	}
}

// useRoutes makes rt the live routes: its new domains start, and the old domains it does not
// keep are closed once it serves.
func (s *Server) useRoutes(rt *routes) {
	for _, d := range rt.domains {
		d.start(s.log.Warn)
	}
	old := s.routes.Swap(rt)
	if old == nil {
		return
	}
	live := make(map[*domain]bool, len(rt.domains))
	for _, d := range rt.domains {
		live[d] = true
	}
	for _, d := range old.domains {
		if !live[d] {
			d.close()
		}
	}
}

// closeRoutes closes every domain of the live routes (at shutdown).
func (s *Server) closeRoutes() {
	if rt := s.routes.Load(); rt != nil {
		for _, d := range rt.domains {
			d.close()
		}
	}
}

// domainObserver counts a domain's upstream exchanges and coalesced waits in the metrics
// (and the exchanges in the live stats), labelled with the server that answered (or failed) when the origin names one: configured
// URLs, so the label set stays bounded.
type domainObserver struct {
	s *Server
	d *domain
}

func (o *domainObserver) Coalesced() {
	if o.s.metrics != nil { // nil when only the live stats observe
		o.s.metrics.Coalesced(o.d.cfg.Name)
	}
}

func (o *domainObserver) Fetched(up objcache.Upstream, resp *http.Response, err error, took time.Duration) {
	o.s.noteOrigin(o.d, resp, err, took)
}

var errNoDomain = errors.New("no domain serves that host")
