// Package edge is the HTTP face of a pixcdn node: it routes a request to its domain by Host,
// admits it by the domain's access rules, has internal/objcache serve it from cache (or passes
// it to the origin), and writes the response. Its image and text front-ends make variants
// through the cache. It is also the one place where errors become HTTP statuses.
package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/imageproc"
	"github.com/pixcdn/pixcdn/internal/livestats"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/objcache"
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
	// Live, when set, counts every request and origin exchange by domain for the per-second
	// live view; the Server keeps its domain names current across reloads.
	Live *livestats.Recorder
	// Picker, when set, is asked who fills a miss before the origin (peers, parents).
	Picker objcache.Picker
}

// Server is one edge node: an http.Handler plus the listeners that serve it.
type Server struct {
	log    *slog.Logger
	now    func() time.Time
	cache  *objcache.Cache
	routes atomic.Pointer[routes]
	stats  Stats
	ready  atomic.Bool

	// Request limits, fixed at New.
	maxURL      int
	maxBody     int64
	sendTimeout time.Duration
	nodeName    string
	cfg         *config.Config
	origins     map[string]origin.Origin // Options.Origins
	metrics     *metrics.Metrics
	accessLog   RequestLogger
	live        *livestats.Recorder
	trusted     *access.IPSet      // proxies whose X-Forwarded-For names the client
	images      *imageproc.Limiter // bounds the image jobs of all domains
	realClock   bool               // now is time.Now: a recorder's start time may stand in for it

	listeners
}

// Stats are counters of what the edge did besides the cache's, read with atomic loads.
type Stats struct {
	Requests                             atomic.Int64
	Passes, PassErrors                   atomic.Int64 // requests passed to the origin (not through the cache) and their failures
	PeerRequests                         atomic.Int64 // requests other nodes sent to the peer endpoint
	ImagesMade, ImagesBusy, ImagesFailed atomic.Int64 // image variants made (not reused); refused with a full queue; failed
}

// EventLoopStats reports the plain-HTTP event loops' work for the metrics.
func (s *Server) EventLoopStats() metrics.EventLoopStats {
	var st metrics.EventLoopStats
	for _, srv := range s.servers {
		if h, ok := srv.(*h1.Server); ok {
			st.Inline += int64(h.InlineRequests())
			st.Handoffs += int64(h.LoopHandoffs())
		}
	}
	return st
}

// ImageStats reports the image pipeline's work for the metrics.
func (s *Server) ImageStats() metrics.ImageStats {
	running, waiting := s.images.Stats()
	return metrics.ImageStats{
		Running: int64(running), Waiting: int64(waiting), Made: s.stats.ImagesMade.Load(),
		Busy: s.stats.ImagesBusy.Load(), Failed: s.stats.ImagesFailed.Load(),
	}
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
		maxURL:      int(cfg.Server.MaxURLBytes),
		maxBody:     int64(cfg.Server.MaxBodyBytes),
		sendTimeout: cfg.Server.SendTimeout.D(),
		nodeName:    cfg.NodeName,
		cfg:         cfg,
		origins:     opt.Origins,
		metrics:     opt.Metrics,
		accessLog:   opt.AccessLog,
		live:        opt.Live,
		realClock:   realClock,
		images:      imageproc.NewLimiter(cfg.Images.Workers, cfg.Images.Queue),
	}
	var err error
	if s.trusted, err = access.NewIPSet(cfg.Server.TrustedProxies); err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	s.cache, err = objcache.New(objcache.Config{
		Node: cfg.NodeName, Dir: cfg.Cache.Dir, MemoryTier: int64(cfg.Cache.MemorySize),
		MemoryObjectMax: int64(cfg.Cache.MemoryObjectMax), MaxObject: int64(cfg.Cache.MaxObjectSize),
		Now: opt.Now, Logger: opt.Logger, Picker: opt.Picker,
	}, st)
	if err != nil {
		return nil, err
	}
	rt, err := s.buildRoutes(cfg, nil)
	if err != nil {
		s.cache.Close()
		return nil, err
	}
	s.useRoutes(rt)
	s.liveDomains(cfg)
	return s, nil
}

// Cache is the node's object cache (a peer endpoint serves from it).
func (s *Server) Cache() *objcache.Cache { return s.cache }

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
	st, cs := &s.stats, &s.cache.Stats
	return map[string]int64{
		"requests": st.Requests.Load(), "hits": cs.Hits.Load(), "misses": cs.Misses.Load(),
		"stale": cs.Stale.Load(), "coalesced": cs.Coalesced.Load(), "origin_fetches": cs.Fetches.Load() + st.Passes.Load(),
		"origin_errors": cs.FetchErrors.Load() + st.PassErrors.Load(), "store_errors": cs.StoreErrors.Load(), "images_made": st.ImagesMade.Load(),
		"ban_version": int64(s.cache.BanVersion()),
	}
}

// ConfigVersion names the configuration the node runs (config.Config.Version).
func (s *Server) ConfigVersion() string { return s.routes.Load().cfg.Version() }

// NodeInfo is what the node runs, for the metrics.
func (s *Server) NodeInfo() metrics.NodeInfo {
	return metrics.NodeInfo{ConfigVersion: s.ConfigVersion(), BanVersion: s.cache.BanVersion()}
}

// closeQuietly closes what has a Close method.
func closeQuietly(v any) {
	if c, ok := v.(io.Closer); ok {
		c.Close()
	}
}
