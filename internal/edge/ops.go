package edge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/pixcdn/pixcdn/internal/config"
)

// PrefetchResult is the outcome of fetching one URL into the cache.
type PrefetchResult struct {
	URL         string
	Status      int
	CacheStatus string
	Bytes       int64
	Duration    time.Duration
	Err         error
}

// Prefetch fetches one URL ("https://host/path" or "host/path") into the cache through the
// normal request path, so it is coalesced with client requests and held to the origin's limit.
func (s *Server) Prefetch(ctx context.Context, rawURL string) PrefetchResult {
	res := PrefetchResult{URL: rawURL}
	target := rawURL
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		res.Err = fmt.Errorf("bad URL %q", rawURL)
		return res
	}
	// The operator asked for it through the admin API: the domain's access rules (signatures,
	// IP lists, rate limits) are for clients, not for this.
	req, err := http.NewRequestWithContext(context.WithValue(ctx, prefetchKey{}, true), http.MethodGet, u.String(), nil)
	if err != nil {
		res.Err = err
		return res
	}
	req.RequestURI, req.RemoteAddr = u.RequestURI(), "127.0.0.1:0"
	req.Header.Set("User-Agent", "pixcdn-prefetch")
	w := &captureWriter{h: http.Header{}} // no limit: keeps the header, counts the body
	start := time.Now()
	if err := catchAbort(func() { s.ServeHTTP(w, req) }); err != nil {
		res.Err = fmt.Errorf("transfer aborted")
	}
	res.Duration, res.Status, res.Bytes = time.Since(start), w.status, w.n
	res.CacheStatus = w.h.Get("Cache-Status")
	if res.Err == nil && w.status >= 400 {
		res.Err = fmt.Errorf("%d %s", w.status, http.StatusText(w.status))
	}
	return res
}

// prefetchKey marks a request's context as a prefetch.
type prefetchKey struct{}

// Reload swaps in a new configuration for the domains (origins, cache rules, certificates).
// The new routes are built completely first; on any error the running ones stay. Settings
// that belong to listeners and the store (listen addresses, cache sizes, timeouts) need a
// restart; they are reported, not applied.
func (s *Server) Reload(cfg *config.Config) error {
	rt, err := buildRoutes(cfg, nil, s.now)
	if err != nil {
		return err
	}
	old := s.cfg
	if cfg.Listen != old.Listen || cfg.TLSListen != old.TLSListen || cfg.Cache != old.Cache || !reflect.DeepEqual(cfg.Server, old.Server) {
		s.log.Warn("reload: listener, server and cache settings change only on restart")
	}
	s.useRoutes(rt)
	s.log.Info("configuration reloaded", "domains", len(cfg.Domains))
	return nil
}

// Ready reports whether the edge serves traffic: started and not shutting down.
func (s *Server) Ready() bool { return s.ready.Load() }
