package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/purge"
)

// Edge is what the admin API needs from the node it controls; *edge.Server implements it.
// All methods may be called concurrently.
type Edge interface {
	// Purge applies p on this node before it returns (p has its ID and issue time). An error
	// means the request was not acceptable (a malformed target, an unknown domain) and is
	// shown to the operator as a 400.
	Purge(p purge.Purge) (purge.Result, error)
	// Prefetch fetches one URL into the cache through the normal fill path and reports how it
	// went; failures are reported in the result, not as an error. It must return soon after ctx
	// is done.
	Prefetch(ctx context.Context, rawURL string) PrefetchResult
	// Reload re-reads the configuration file, validates it and swaps it in. On error the old
	// configuration keeps serving and the error says why.
	Reload() error
	// Ready reports whether the node's listeners are up and it is not shutting down.
	Ready() bool
	// ConfigVersion names the configuration the node runs (a content hash).
	ConfigVersion() string
}

// PrefetchResult is one line of the POST /prefetch stream.
type PrefetchResult struct {
	URL         string  `json:"url"`
	Status      int     `json:"status"`       // HTTP status the fill ended with
	CacheStatus string  `json:"cache_status"` // the Cache-Status value a client would have seen
	Bytes       int64   `json:"bytes"`
	DurationMS  float64 `json:"duration_ms"`
	Error       string  `json:"error,omitempty"` // set whenever the URL is not in the cache afterwards
}

// Failed reports whether the prefetch of r did not succeed: an error, or a status outside 2xx/304.
func (r PrefetchResult) Failed() bool {
	return r.Error != "" || r.Status < 200 || (r.Status >= 300 && r.Status != http.StatusNotModified)
}

// Config configures the admin listener. The zero value (plus an Edge) serves on 127.0.0.1:9090
// without a token.
type Config struct {
	Listen              string           // listen address; default DefaultListen
	Token               string           // bearer token; "" only on a loopback address
	Metrics             http.Handler     // serves GET /metrics; nil = 404
	Stats               func() any       // GET /stats returns it as JSON; nil = 404
	Members             func() []string  // the POP's live members, for GET /readyz; nil = none shown
	Status              func() []string  // more lines of GET /readyz (the control plane link); nil = none
	Logger              *slog.Logger     // audit log of purges and reloads; default discards
	PrefetchConcurrency int              // URLs fetched at once per prefetch request; default 8
	MaxPrefetchURLs     int              // URLs per prefetch request; default 100 000
	MaxBodyBytes        int64            // request body limit; default 16 MiB
	Now                 func() time.Time // clock for deadlines; default time.Now
}

// Defaults and limits of Config.
const (
	DefaultListen              = "127.0.0.1:9090"
	DefaultPrefetchConcurrency = 8
	DefaultMaxPrefetchURLs     = 100_000
	DefaultMaxBodyBytes        = 16 << 20
	maxPrefetchConcurrency     = 1024
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PrefetchConcurrency == 0 {
		c.PrefetchConcurrency = DefaultPrefetchConcurrency
	}
	if c.MaxPrefetchURLs == 0 {
		c.MaxPrefetchURLs = DefaultMaxPrefetchURLs
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks a Config after defaults: limits in range, and no open listener without a
// token (config validation checks the same; this guards other callers).
func (c Config) Validate() error {
	c = c.withDefaults()
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen %q: %w", c.Listen, err)
	}
	if c.Token == "" && !isLoopback(host) {
		return fmt.Errorf("admin: listen %q is not a loopback address and no token is set", c.Listen)
	}
	if c.PrefetchConcurrency < 1 || c.PrefetchConcurrency > maxPrefetchConcurrency {
		return fmt.Errorf("admin: prefetch concurrency %d out of [1, %d]", c.PrefetchConcurrency, maxPrefetchConcurrency)
	}
	if c.MaxPrefetchURLs < 1 || c.MaxBodyBytes < 1 {
		return errors.New("admin: MaxPrefetchURLs and MaxBodyBytes must be positive")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Server is a running admin listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// New validates cfg, binds cfg.Listen and serves the admin API for e in the background until
// Close or Shutdown.
func New(cfg Config, e Edge) (*Server, error) {
	h, err := NewHandler(cfg, e)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{ln: ln, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}}
	go s.srv.Serve(ln)
	return s, nil
}

// NewHandler returns the admin API as an http.Handler, for callers that serve it themselves
// (tests, a listener with TLS). cfg.Listen is checked but not bound.
func NewHandler(cfg Config, e Edge) (http.Handler, error) {
	if e == nil {
		return nil, errors.New("admin: no Edge")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newHandler(cfg.withDefaults(), e), nil
}

// Addr is the bound address, e.g. "127.0.0.1:9090".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the listener and cuts every connection; running prefetches are cancelled.
func (s *Server) Close() error { return s.srv.Close() }

// Shutdown stops the listener and waits, until ctx is done, for running requests to finish.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
