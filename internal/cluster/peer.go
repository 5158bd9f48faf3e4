package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// Headers of a peer request besides the signature.
const (
	DomainHeader = "X-Pixcdn-Domain" // the configured domain the request is for
	TierHeader   = "X-Pixcdn-Tier"   // "peer" (same POP: the receiver is the owner) or "child" (a lower tier)
)

// Tiers a request can come from.
const (
	TierPeer  = "peer"
	TierChild = "child"
)

// ErrNotCached is a peer's answer to an only-if-cached probe that it does not hold the key.
var ErrNotCached = errors.New("cluster: not cached there")

// link is the HTTP client side of the peer endpoint of one node or parent.
type link struct {
	name   string // the node's name, or the parent's URL
	base   *url.URL
	self   string // this node's name, which signs
	tier   string
	sign   *signer
	client *http.Client
	stats  *peerStats
}

// peerStats counts one upstream's exchanges.
type peerStats struct {
	Requests, Errors, Bytes atomic.Int64
	Nanos                   atomic.Int64 // time to response headers, summed
}

func newLink(name, base, self, tier string, s *signer, t http.RoundTripper, stats *peerStats) (*link, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cluster: peer endpoint %q: want http(s)://host:port", base)
	}
	return &link{name: name, base: u, self: self, tier: tier, sign: s, client: &http.Client{Transport: t}, stats: stats}, nil
}

// newTransport is the connection pool to peers: short connect timeout (a peer is on the same
// network; one that does not answer fast is down), keep-alive, headers within timeout.
func newTransport(timeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
}

// domainLink is a link for one domain's requests: what the Picker hands the cache.
type domainLink struct {
	*link
	domain string
	copies *hotKeys // nil: keep every copy (a parent's answers, a probe's)
	probe  bool     // only-if-cached: the previous owner, asked before the origin
}

var (
	_ objcache.Upstream = domainLink{}
	_ objcache.Copier   = domainLink{}
)

func (l domainLink) Name() string { return l.name }

// KeepCopy keeps a copy of what a peer owner answered only for hot keys; everything a parent
// or a probe answered is this node's to keep (it owns the key).
func (l domainLink) KeepCopy(primary string) bool { return l.copies == nil || l.copies.hot(primary) }

// Fetch sends req to the peer's endpoint: the same path, query and header, the domain named,
// signed. It keeps origin.Origin's contract: a failure to get an answer is an *origin.Error.
func (l domainLink) Fetch(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	u := *l.base
	u.Path, u.RawPath, u.RawQuery = req.URL.Path, req.URL.RawPath, req.URL.RawQuery
	out.URL, out.RequestURI = &u, ""
	if out.Host == "" {
		out.Host = u.Host
	}
	out.Header.Set(DomainHeader, l.domain)
	out.Header.Set(TierHeader, l.tier)
	if l.probe {
		out.Header.Set("Cache-Control", "only-if-cached")
	}
	l.sign.sign(out, l.self)
	start := time.Now()
	l.stats.Requests.Add(1)
	resp, err := l.client.Do(out)
	l.stats.Nanos.Add(int64(time.Since(start)))
	if err != nil {
		l.stats.Errors.Add(1)
		kind := origin.KindUnavailable
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			kind = origin.KindTimeout
		}
		return nil, &origin.Error{Kind: kind, Server: l.name, Err: err}
	}
	switch {
	case l.probe && resp.StatusCode == http.StatusGatewayTimeout:
		resp.Body.Close()
		return nil, &origin.Error{Kind: origin.KindUnavailable, Server: l.name, Err: ErrNotCached}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusMisdirectedRequest || resp.StatusCode == http.StatusLoopDetected:
		// The peer refused the request itself (another secret, a domain it does not serve,
		// a loop): no answer about the object; the origin is asked instead.
		resp.Body.Close()
		l.stats.Errors.Add(1)
		return nil, &origin.Error{Kind: origin.KindUnavailable, Server: l.name, Err: fmt.Errorf("peer refused the request: %s", resp.Status)}
	}
	if resp.ContentLength > 0 {
		l.stats.Bytes.Add(resp.ContentLength)
	}
	return resp, nil
}

// chain asks its upstreams in order until one answers (a probe of the previous owner, then the
// parents); it fails when all did, and the cache asks the origin.
type chain []objcache.Upstream

func (c chain) Name() string { return c[len(c)-1].Name() }

func (c chain) Fetch(req *http.Request) (*http.Response, error) {
	var errs []error
	for _, up := range c {
		resp, err := up.Fetch(req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
		if req.Context().Err() != nil {
			break
		}
	}
	return nil, &origin.Error{Kind: origin.KindUnavailable, Server: c.Name(), Err: errors.Join(errs...)}
}
