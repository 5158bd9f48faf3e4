package origin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// Server is one HTTP(S) server of an HTTP origin.
type Server struct {
	// URL is http://host:port or https://host:port, optionally with a path prefix that is put in
	// front of every request path.
	URL string
	// Priority 0 is primary; servers of a higher number are used only when every server of a
	// lower number is down or already failed for this request (backup servers).
	Priority int
	// Weight shares requests among servers of one priority by smooth weighted round robin
	// (nginx's algorithm: deterministic, evenly interleaved); default 1.
	Weight int
	// Host is the Host header sent to this server; "" means HTTPConfig.Host, then the client's.
	Host string
	// SNI is the TLS server name, also the name the certificate is verified against; "" means the
	// Host header sent, then the URL's host.
	SNI string
	// InsecureSkipVerify turns certificate verification off (origins with self-signed certs).
	InsecureSkipVerify bool
}

// HTTPConfig configures an HTTP origin. Zero durations and counts take the defaults below.
type HTTPConfig struct {
	Servers []Server
	// Host is the Host header for servers without their own; "" passes the request's Host, and
	// the server URL's host when that is "" too.
	Host string
	// ConnectTimeout bounds the TCP connect and the TLS handshake each; default 5s.
	ConnectTimeout time.Duration
	// ResponseTimeout bounds the wait for response headers once the request is written; default 30s.
	ResponseTimeout time.Duration
	// FailThreshold consecutive failures mark a server down; default 3.
	FailThreshold int
	// FailCooldown is how long a down server is skipped; then one trial request decides whether
	// it is up again; default 10s.
	FailCooldown time.Duration
	// FailoverStatuses are response statuses that count as failures and are retried on the next
	// server (default none; typically 502, 503, 504).
	FailoverStatuses []int
	// MaxIdleConnsPerServer bounds the keepalive pool of each server; default 64.
	MaxIdleConnsPerServer int
	// MaxHeaderBytes bounds a response's header block; a larger one fails the request with
	// ErrHeaderTooLarge (and counts against the server); default 64 KiB.
	MaxHeaderBytes int
	// Now is the clock of passive health; default time.Now. Tests inject their own.
	Now func() time.Time
}

// Defaults of HTTPConfig.
const (
	DefaultConnectTimeout        = 5 * time.Second
	DefaultResponseTimeout       = 30 * time.Second
	DefaultFailThreshold         = 3
	DefaultFailCooldown          = 10 * time.Second
	DefaultMaxIdleConnsPerServer = 64
	DefaultMaxHeaderBytes        = 64 << 10

	// MaxServers bounds HTTPConfig.Servers, so the servers tried by one request fit in a bitmask.
	MaxServers = 64
)

func (c HTTPConfig) withDefaults() HTTPConfig {
	c.ConnectTimeout = orDefault(c.ConnectTimeout, DefaultConnectTimeout)
	c.ResponseTimeout = orDefault(c.ResponseTimeout, DefaultResponseTimeout)
	c.FailCooldown = orDefault(c.FailCooldown, DefaultFailCooldown)
	c.FailThreshold = orDefault(c.FailThreshold, DefaultFailThreshold)
	c.MaxIdleConnsPerServer = orDefault(c.MaxIdleConnsPerServer, DefaultMaxIdleConnsPerServer)
	c.MaxHeaderBytes = orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Servers = slices.Clone(c.Servers)
	for i := range c.Servers {
		c.Servers[i].Weight = orDefault(c.Servers[i].Weight, 1)
	}
	return c
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Validate reports a configuration NewHTTP would refuse.
func (c HTTPConfig) Validate() error {
	if len(c.Servers) == 0 {
		return errors.New("origin http: no servers")
	}
	if len(c.Servers) > MaxServers {
		return fmt.Errorf("origin http: %d servers, at most %d", len(c.Servers), MaxServers)
	}
	for i, s := range c.Servers {
		if _, err := parseServerURL(s.URL); err != nil {
			return fmt.Errorf("origin http: server %d: %w", i, err)
		}
		if s.Priority < 0 || s.Weight < 0 {
			return fmt.Errorf("origin http: server %d (%s): negative priority or weight", i, s.URL)
		}
	}
	if c.ConnectTimeout < 0 || c.ResponseTimeout < 0 || c.FailCooldown < 0 || c.FailThreshold < 0 || c.MaxIdleConnsPerServer < 0 || c.MaxHeaderBytes < 0 {
		return errors.New("origin http: negative timeout, threshold, cooldown, pool size or header limit")
	}
	for _, st := range c.FailoverStatuses {
		if st < 100 || st > 599 {
			return fmt.Errorf("origin http: failover status %d out of range", st)
		}
	}
	return nil
}

func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q: want scheme://host[:port][/prefix] only", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

// HTTP is an Origin over one or more HTTP(S) servers with priorities, weights, failover and
// passive health. Safe for concurrent use.
type HTTP struct {
	cfg      HTTPConfig
	servers  []*upstream   // in configuration order, as Health reports them
	levels   [][]*upstream // grouped by priority, lowest first
	mu       sync.Mutex    // guards the balancing and health fields of every upstream
	failover []int
}

var _ Origin = (*HTTP)(nil)

// NewHTTP validates cfg and builds one http.Transport per server.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &HTTP{cfg: cfg, failover: slices.Clone(cfg.FailoverStatuses)}
	for i, s := range cfg.Servers {
		u, err := newUpstream(i, s, cfg)
		if err != nil {
			return nil, err
		}
		h.servers = append(h.servers, u)
	}
	byPriority := slices.Clone(h.servers)
	slices.SortStableFunc(byPriority, func(a, b *upstream) int { return a.cfg.Priority - b.cfg.Priority })
	for _, u := range byPriority {
		if n := len(h.levels); n > 0 && h.levels[n-1][0].cfg.Priority == u.cfg.Priority {
			h.levels[n-1] = append(h.levels[n-1], u)
		} else {
			h.levels = append(h.levels, []*upstream{u})
		}
	}
	return h, nil
}

// Close drops the idle keepalive connections of every server.
func (h *HTTP) Close() error {
	for _, u := range h.servers {
		u.transport.CloseIdleConnections()
	}
	return nil
}

var errAllDown = errors.New("every server is down")

// Fetch sends req to the best server and fails over as the package documentation describes:
// GET and HEAD move on after any transport error or a FailoverStatus; other methods only when
// no connection was ever made and the body can be replayed. Each server is tried at most once.
func (h *HTTP) Fetch(req *http.Request) (*http.Response, error) {
	var tried uint64
	var last error
	for attempt := 0; ; attempt++ {
		u, trial := h.pick(&tried)
		if u == nil {
			break
		}
		resp, next, err := h.attempt(req, u, trial, attempt)
		if !next {
			return resp, err
		}
		last = err
	}
	if last == nil {
		last = &Error{Kind: KindUnavailable, Err: errAllDown}
	}
	return nil, last
}

// attempt sends req to u once; next reports whether the caller should try another server.
func (h *HTTP) attempt(req *http.Request, u *upstream, trial bool, attempt int) (resp *http.Response, next bool, err error) {
	out, connected, err := h.outgoing(req, u, attempt)
	if err != nil {
		h.settle(u, trial, outcomeNeutral, nil)
		return nil, false, &Error{Kind: KindBadRequest, Server: u.cfg.URL, Err: err}
	}
	body := watchBody(out)
	resp, err = u.transport.RoundTrip(out)
	if err != nil {
		if cerr := body.failure(); cerr != nil {
			// The client's body broke (malformed chunking, over the size limit, a stall):
			// the client's error, which must never count against the server's health.
			h.settle(u, trial, outcomeNeutral, nil)
			return nil, false, &Error{Kind: KindBadRequest, Server: u.cfg.URL, Err: fmt.Errorf("%w: %w", ErrClientBody, cerr)}
		}
		return h.transportFailed(req, u, trial, err, connected)
	}
	if slices.Contains(h.failover, resp.StatusCode) {
		h.settle(u, trial, outcomeFailure, fmt.Errorf("answered %s", resp.Status))
		if !idempotent(req.Method) {
			return resp, false, nil // the server may have acted on it: its answer stands
		}
		discard(resp.Body)
		return nil, true, &Error{Kind: KindUnavailable, Server: u.cfg.URL, Err: fmt.Errorf("answered %s", resp.Status)}
	}
	h.settle(u, trial, outcomeSuccess, nil)
	resp.Body = &healthBody{ReadCloser: resp.Body, h: h, u: u, ctx: req.Context()}
	return resp, false, nil
}

func (h *HTTP) transportFailed(req *http.Request, u *upstream, trial bool, err error, connected *atomic.Bool) (*http.Response, bool, error) {
	if ctxErr := req.Context().Err(); ctxErr != nil {
		// The client gave up or its deadline passed: says nothing about the server.
		h.settle(u, trial, outcomeNeutral, nil)
		kind := KindUnavailable
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			kind = KindTimeout
		}
		return nil, false, &Error{Kind: kind, Server: u.cfg.URL, Err: err}
	}
	err = headerTooLarge(err)
	h.settle(u, trial, outcomeFailure, err)
	retry := idempotent(req.Method) || (connected != nil && !connected.Load() && replayable(req))
	return nil, retry, &Error{Kind: classify(err), Server: u.cfg.URL, Err: err}
}

// ErrHeaderTooLarge is wrapped by the *Error (KindUnavailable) of a response whose header
// block is over the configured limit.
var ErrHeaderTooLarge = errors.New("response header block over the limit")

// headerTooLarge marks net/http's error for a header block over MaxResponseHeaderBytes (it
// has no sentinel of its own; TestHeaderLimit guards the message).
func headerTooLarge(err error) error {
	if err != nil && strings.Contains(err.Error(), "server response headers exceeded") {
		return fmt.Errorf("%w: %w", ErrHeaderTooLarge, err)
	}
	return err
}

func classify(err error) Kind {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return KindTimeout
	}
	return KindUnavailable
}

// idempotent methods are retried after any failure; RFC 9110 would allow PUT and DELETE too,
// but an edge has no business repeating writes.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// discard reads a little of a body we throw away, so its connection can be reused.
func discard(body io.ReadCloser) {
	io.CopyN(io.Discard, body, 4<<10)
	body.Close()
}

// outgoing builds the request for u without touching req. connected is non-nil for methods
// that may only be retried when no connection was made; it turns true once one is.
func (h *HTTP) outgoing(req *http.Request, u *upstream, attempt int) (*http.Request, *atomic.Bool, error) {
	ctx := req.Context()
	var connected *atomic.Bool
	if !idempotent(req.Method) {
		connected = new(atomic.Bool)
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
		})
	}
	out := req.Clone(context.WithValue(ctx, serverKey{}, u.cfg.URL))
	out.RequestURI = ""
	out.Host = firstNonEmpty(u.cfg.Host, h.cfg.Host, req.Host, u.base.Host)
	if !validHostHeader(out.Host) {
		return nil, nil, fmt.Errorf("invalid Host header %q", out.Host)
	}
	out.URL = u.target(req.URL, out.Host)
	httpcache.RemoveHopByHop(out.Header)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = []string{""} // keep net/http from adding its own
	}
	if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, nil, fmt.Errorf("replay request body: %w", err)
		}
		out.Body = body
	}
	return out, connected, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ErrClientBody is wrapped by the *Error (KindBadRequest) of a request whose body could not be
// read from the client; the error that broke it is wrapped too (an *http.MaxBytesError for a
// body over the size limit).
var ErrClientBody = errors.New("reading the request body from the client")

// clientBody remembers why reading the outgoing request's body failed. The transport reads it
// on a goroutine of its own, so the failure is kept behind a mutex.
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

// watchBody wraps out's body, if it has one; the result's failure is nil for none.
func watchBody(out *http.Request) *clientBody {
	if out.Body == nil || out.Body == http.NoBody {
		return nil
	}
	b := &clientBody{ReadCloser: out.Body}
	out.Body = b
	return b
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (b *clientBody) failure() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// healthBody reports a body that breaks off as a failure of its server.
type healthBody struct {
	io.ReadCloser
	h        *HTTP
	u        *upstream
	ctx      context.Context
	reported bool
}

func (b *healthBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && !b.reported && b.ctx.Err() == nil {
		b.reported = true
		b.h.settle(b.u, false, outcomeFailure, fmt.Errorf("reading body: %w", err))
	}
	return n, err
}

// upstream is one configured server: its transport, and its balancing and health state.
type upstream struct {
	idx       int
	cfg       Server
	base      *url.URL
	port      string
	transport *http.Transport

	// Guarded by HTTP.mu.
	current   int       // smooth weighted round robin counter
	fails     int       // consecutive failures
	downUntil time.Time // skipped until then once fails >= FailThreshold
	trial     bool      // the one trial request after the cooldown is in flight
	lastErr   string
	lastErrAt time.Time
}

func newUpstream(i int, s Server, cfg HTTPConfig) (*upstream, error) {
	base, err := parseServerURL(s.URL)
	if err != nil {
		return nil, err
	}
	port := base.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[base.Scheme]
	}
	u := &upstream{idx: i, cfg: s, base: base, port: port}
	u.transport = newTransport(s, cfg, net.JoinHostPort(base.Hostname(), port), base.Scheme == "https")
	return u, nil
}

// newTransport dials addr whatever host the request URL names. The URL's host is the TLS server
// name instead (see target), which makes net/http send that SNI, verify the certificate against
// it, and keep a separate connection pool per name, so a connection is never reused for a
// request that needs another SNI.
func newTransport(s Server, cfg HTTPConfig, addr string, https bool) *http.Transport {
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy: nil, // an origin is reached directly; the environment's proxy is not ours to read
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		ResponseHeaderTimeout:  cfg.ResponseTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           cfg.MaxIdleConnsPerServer,
		MaxIdleConnsPerHost:    cfg.MaxIdleConnsPerServer,
		MaxResponseHeaderBytes: int64(cfg.MaxHeaderBytes),
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true, // pass Accept-Encoding and encoded bodies through untouched
		ForceAttemptHTTP2:      https,
	}
	if https {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	}
	return t
}

// target is the URL of the request on this server: prefix + path, the query unchanged, and as
// host the TLS server name (https) or the server's own host (http).
func (u *upstream) target(in *url.URL, hostHeader string) *url.URL {
	t := *u.base
	t.Path = u.base.Path + in.Path
	t.RawPath = ""
	if in.RawPath != "" {
		t.RawPath = u.base.EscapedPath() + in.RawPath
	}
	t.RawQuery = in.RawQuery
	t.ForceQuery = in.ForceQuery
	if u.base.Scheme == "https" {
		t.Host = net.JoinHostPort(u.sniName(hostHeader), u.port)
	}
	return &t
}

func (u *upstream) sniName(hostHeader string) string {
	if u.cfg.SNI != "" {
		return u.cfg.SNI
	}
	if name := hostOnly(hostHeader); validHostname(name) {
		return name
	}
	return u.base.Hostname()
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// validHostHeader accepts the characters RFC 3986 allows in a host and port (net/http would
// refuse the request later, as a transport error that would wrongly count against the server).
func validHostHeader(s string) bool {
	for _, c := range []byte(s) {
		if !isHostByte(c) {
			return false
		}
	}
	return true
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:[]%", c) >= 0
}

// validHostname accepts DNS names and IP literals; anything else from a client's Host header
// must not reach the TLS layer or the pool key.
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	if net.ParseIP(s) != nil {
		return true
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

type serverKey struct{}

// ServerOf names the configured server that answered resp (its URL), or "" when the response
// did not come from an HTTP origin. Metrics label origin exchanges with it.
func ServerOf(resp *http.Response) string {
	if resp == nil || resp.Request == nil {
		return ""
	}
	s, _ := resp.Request.Context().Value(serverKey{}).(string)
	return s
}
