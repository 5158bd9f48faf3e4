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

// Prefetch fetches one URL ("https://host/path" or "host/path") into the cache as a client
// request for it would be served, so it is coalesced with client requests, held to the
// origin's limit, and makes the image variant or coding it names. The domain's access rules
// (signatures, IP lists, rate limits) are for clients: the operator's prefetch skips them.
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		res.Err = err
		return res
	}
	req.RequestURI, req.RemoteAddr = u.RequestURI(), "127.0.0.1:0"
	req.Header.Set("User-Agent", "pixcdn-prefetch")
	w := &countingWriter{h: http.Header{}}
	start := time.Now()
	if err := s.serve(w, req, fromOperator); err != nil {
		res.Err = fmt.Errorf("transfer aborted: %w", err)
	}
	res.Duration, res.Status, res.Bytes = time.Since(start), w.status, w.n
	res.CacheStatus = w.h.Get("Cache-Status")
	if res.Err == nil && w.status >= 400 {
		res.Err = fmt.Errorf("%d %s", w.status, http.StatusText(w.status))
	}
	return res
}

// countingWriter is the ResponseWriter of a prefetch: it keeps the status and header and
// counts the body, which it drops.
type countingWriter struct {
	h      http.Header
	status int
	n      int64
}

func (c *countingWriter) Header() http.Header { return c.h }

func (c *countingWriter) WriteHeader(status int) {
	if c.status == 0 && status >= 200 {
		c.status = status
	}
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	c.n += int64(len(p))
	return len(p), nil
}

// Reload swaps in a new configuration for the domains (origins, cache rules, certificates),
// in the four steps of a careful reload: build the new domains completely (keeping the
// runtime of every domain whose configuration and TLS files did not change: its origin's
// health and connections, rate limits, certificate and OCSP staple), swap them in, then close
// what the old configuration held that the new one does not use. On any error while building,
// what was built is closed and the running configuration stays. Settings that belong to
// listeners and the store (listen addresses, cache sizes, timeouts) need a restart; they are
// reported, not applied.
func (s *Server) Reload(cfg *config.Config) error {
	old := s.routes.Load()
	rt, err := s.buildRoutes(cfg, old)
	if err != nil {
		return err
	}
	if cfg.Listen != s.cfg.Listen || cfg.TLSListen != s.cfg.TLSListen || cfg.Cache != s.cfg.Cache || !reflect.DeepEqual(cfg.Server, s.cfg.Server) {
		s.log.Warn("reload: listener, server and cache settings change only on restart")
	}
	s.useRoutes(rt)
	s.liveDomains(cfg)
	s.log.Info("configuration reloaded", "domains", len(cfg.Domains), "version", cfg.Version())
	return nil
}

// Ready reports whether the edge serves traffic: started and not shutting down.
func (s *Server) Ready() bool { return s.ready.Load() }
