// Package edge is the hot path of a pixcdn node: it routes a request to its domain by Host,
// looks the object up in the cache, fills misses from the origin (one fill per key however many
// clients ask), applies HTTP caching semantics and writes the response. It is also the one place
// where errors become HTTP statuses.
package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/imageproc"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/origin"
	"github.com/pixcdn/pixcdn/internal/store"
)

// Options are the dependencies of a Server that do not come from the configuration file.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // clock for freshness decisions; default time.Now
	// Origins replaces the origin built from the configuration for the named domains
	// (tests use it to put a counting or failing origin in front).
	Origins map[string]origin.Origin
	// Metrics and AccessLog, when set, see every request.
	Metrics   *metrics.Metrics
	AccessLog RequestLogger
}

// Server is one edge node: an http.Handler plus the listeners that serve it.
type Server struct {
	log     *slog.Logger
	now     func() time.Time
	store   *store.Cache
	routes  atomic.Pointer[routes]
	flights flights
	memo    metaMemo
	bans    *bans
	stats   Stats
	ready   atomic.Bool

	// Request limits, fixed at New.
	maxURL      int
	maxBody     int64
	maxObject   int64
	memObjMax   int64
	sendTimeout time.Duration
	nodeName    string
	via         string
	cfg         *config.Config
	metrics     *metrics.Metrics
	accessLog   RequestLogger
	trusted     *access.IPSet      // proxies whose X-Forwarded-For names the client
	images      *imageproc.Limiter // bounds the image jobs of all domains
	realClock   bool               // now is time.Now: a recorder's start time may stand in for it

	listeners
}

// Stats are counters of what the edge did, read with atomic loads.
type Stats struct {
	Requests, Hits, Misses, Stale, Coalesced, OriginFetches, OriginErrors, StoreErrors atomic.Int64
	ImagesMade, ImagesBusy, ImagesFailed                                               atomic.Int64 // image variants made (not reused); refused with a full queue; failed
}

// ImageStats reports the image pipeline's work for the metrics.
func (s *Server) ImageStats() metrics.ImageStats {
	running, waiting := s.images.Stats()
	return metrics.ImageStats{
		Running: int64(running), Waiting: int64(waiting), Made: s.stats.ImagesMade.Load(),
		Busy: s.stats.ImagesBusy.Load(), Failed: s.stats.ImagesFailed.Load(),
	}
}

// domain is the runtime form of one configured domain.
type domain struct {
	cfg       *config.Domain
	origin    origin.Origin
	keyer     keyer
	heuristic httpcache.Heuristic
	cert      *tls.Certificate
	guard     *guard       // nil: no access rules
	hsts      []string     // Strict-Transport-Security value for HTTPS responses; nil: none
	httpsOnly bool         // plain HTTP is redirected to https://
	compress  *compression // nil: bodies go out as stored
	images    *imaging     // nil: no image processing
	ocsp      *ocspStapler // nil: no OCSP responder named in the certificate
}

// routes maps request hosts to domains. It is replaced whole on reload.
type routes struct {
	cfg     *config.Config
	domains map[*config.Domain]*domain
	certs   []*tls.Certificate
	stop    context.CancelFunc // ends the routes' background work (OCSP refreshes); nil before use
}

// New builds a Server from a validated configuration and an open store.
func New(cfg *config.Config, st *store.Cache, opt Options) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	realClock := opt.Now == nil
	if realClock {
		opt.Now = time.Now
	}
	s := &Server{
		log:         opt.Logger,
		now:         opt.Now,
		store:       st,
		maxURL:      int(cfg.Server.MaxURLBytes),
		maxBody:     int64(cfg.Server.MaxBodyBytes),
		maxObject:   int64(cfg.Cache.MaxObjectSize),
		memObjMax:   int64(cfg.Cache.MemoryObjectMax),
		sendTimeout: cfg.Server.SendTimeout.D(),
		nodeName:    cfg.NodeName,
		via:         "1.1 " + cfg.NodeName,
		cfg:         cfg,
		memo:        newMetaMemo(int64(cfg.Cache.MemorySize)),
		metrics:     opt.Metrics,
		accessLog:   opt.AccessLog,
		realClock:   realClock,
		images:      imageproc.NewLimiter(cfg.Images.Workers, cfg.Images.Queue),
	}
	rt, err := buildRoutes(cfg, opt.Origins, opt.Now)
	if err != nil {
		return nil, err
	}
	s.useRoutes(rt)
	if s.trusted, err = access.NewIPSet(cfg.Server.TrustedProxies); err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	if s.bans, err = loadBans(cfg.Cache.Dir); err != nil {
		return nil, fmt.Errorf("purges: %w", err)
	}
	return s, nil
}

func buildRoutes(cfg *config.Config, override map[string]origin.Origin, now func() time.Time) (*routes, error) {
	rt := &routes{cfg: cfg, domains: make(map[*config.Domain]*domain, len(cfg.Domains))}
	for i := range cfg.Domains {
		dc := &cfg.Domains[i]
		d, err := newDomain(dc, override[dc.Name], now)
		if err != nil {
			return nil, fmt.Errorf("domain %s: %w", dc.Name, err)
		}
		if d.cert != nil {
			rt.certs = append(rt.certs, d.cert)
		}
		rt.domains[dc] = d
	}
	return rt, nil
}

func newDomain(dc *config.Domain, o origin.Origin, now func() time.Time) (*domain, error) {
	d := &domain{
		cfg: dc,
		heuristic: httpcache.Heuristic{
			Percent: dc.Cache.HeuristicPercent,
			Min:     dc.Cache.HeuristicMin.D(),
			Max:     dc.Cache.HeuristicMax.D(),
		},
	}
	d.keyer = newKeyer(dc)
	d.compress = newCompression(&dc.Compress)
	d.images = newImaging(&dc.Images)
	if o == nil {
		var err error
		if o, err = buildOrigin(&dc.Origin); err != nil {
			return nil, err
		}
	}
	d.origin = o
	var err error
	if d.guard, err = newGuard(&dc.Access, now); err != nil {
		return nil, err
	}
	if dc.TLS != nil {
		d.httpsOnly = dc.TLS.HTTPSOnly
		if dc.TLS.HSTS != nil {
			d.hsts = []string{dc.TLS.HSTS.Header()}
		}
		cert, err := tls.LoadX509KeyPair(dc.TLS.Cert, dc.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		d.cert = &cert
		d.ocsp = newOCSPStapler(d.cert, now)
	}
	return d, nil
}

// useRoutes makes rt the live routes: its OCSP staplers start, the old routes' stop.
func (s *Server) useRoutes(rt *routes) {
	ctx, cancel := context.WithCancel(context.Background())
	rt.stop = cancel
	for _, d := range rt.domains {
		if d.ocsp != nil {
			go d.ocsp.run(ctx, s.log.Warn)
		}
	}
	if old := s.routes.Swap(rt); old != nil && old.stop != nil {
		old.stop()
	}
}

// lookup finds the domain of a request's Host (config.Domain decides: names, aliases,
// wildcards, then the catch-all "*").
func (rt *routes) lookup(host string) *domain { return rt.domains[rt.cfg.Domain(host)] }

// certificate picks the certificate for a TLS handshake by SNI; without a match it offers
// the first configured one so that clients get a handshake and then a clear 421.
func (s *Server) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	rt := s.routes.Load()
	if d := rt.lookup(hello.ServerName); d != nil && d.cert != nil {
		if staple := d.ocsp.current(); staple != nil {
			c := *d.cert // crypto/tls reads the certificate during the handshake: never write it
			c.OCSPStaple = staple
			return &c, nil
		}
		return d.cert, nil
	}
	if len(rt.certs) > 0 {
		return rt.certs[0], nil
	}
	return nil, errors.New("edge: no certificate configured")
}

// StatsSnapshot returns the counters by name.
func (s *Server) StatsSnapshot() map[string]int64 {
	st := &s.stats
	return map[string]int64{
		"requests": st.Requests.Load(), "hits": st.Hits.Load(), "misses": st.Misses.Load(),
		"stale": st.Stale.Load(), "coalesced": st.Coalesced.Load(), "origin_fetches": st.OriginFetches.Load(),
		"origin_errors": st.OriginErrors.Load(), "store_errors": st.StoreErrors.Load(), "images_made": st.ImagesMade.Load(),
	}
}
