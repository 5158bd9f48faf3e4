package edge

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/ratelimit"
)

// guard is a domain's access control, built once from its configuration; nil when the domain
// has none, so open domains pay nothing.
type guard struct {
	ip       *access.IPRule
	ua       *access.UARule
	referer  *access.RefererRule
	limiter  *ratelimit.Limiter
	verifier *access.Verifier
}

func newGuard(a *config.Access, now func() time.Time) (*guard, error) {
	g := &guard{}
	var err error
	if r := a.IP; r != nil {
		if g.ip, err = access.NewIPRule(access.IPRuleConfig{Mode: access.Mode(r.Mode), CIDRs: r.CIDRs}); err != nil {
			return nil, fmt.Errorf("access.ip: %w", err)
		}
	}
	if r := a.UserAgent; r != nil {
		if g.ua, err = access.NewUARule(access.UAConfig{Mode: access.Mode(r.Mode), Patterns: r.Patterns, AllowEmpty: r.AllowEmpty}); err != nil {
			return nil, fmt.Errorf("access.user_agent: %w", err)
		}
	}
	if r := a.Referer; r != nil {
		if g.referer, err = access.NewReferer(access.RefererConfig{Mode: access.Mode(r.Mode), Patterns: r.Patterns, AllowEmpty: r.AllowEmpty}); err != nil {
			return nil, fmt.Errorf("access.referer: %w", err)
		}
	}
	if len(a.RateLimits) > 0 {
		rc := a.RateLimitConfig()
		rc.Now = now
		if g.limiter, err = ratelimit.New(rc); err != nil {
			return nil, fmt.Errorf("access.rate_limits: %w", err)
		}
	}
	if a.Sign != nil {
		if g.verifier, err = access.NewVerifier(a.Sign.SignConfig()); err != nil {
			return nil, fmt.Errorf("access.sign: %w", err)
		}
	}
	if *g == (guard{}) {
		return nil, nil
	}
	return g, nil
}

// Verifier is a domain's URL signer, for `pixcdn sign`; nil when the domain needs no signature.
func (s *Server) Verifier(host string) *access.Verifier {
	if d := s.routes.Load().lookup(host); d != nil && d.guard != nil {
		return d.guard.verifier
	}
	return nil
}

// admit applies the domain's access rules. It answers a refused request itself and returns
// nil; otherwise it returns the request to serve, with a verified signature removed from its
// URL (so signed URLs share one cached object and the origin never sees signatures).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, d *domain) *http.Request {
	g := d.guard
	var ip netip.Addr
	if g.ip != nil || g.limiter != nil {
		ip = access.ClientIP(r.RemoteAddr, r.Header["X-Forwarded-For"], s.trusted)
	}
	switch {
	case g.ip != nil && !g.ip.Allowed(ip):
		s.deny(w, http.StatusForbidden, "ip")
		return nil
	case g.ua != nil && !g.ua.Allowed(r.Header.Get("User-Agent")):
		s.deny(w, http.StatusForbidden, "user-agent")
		return nil
	case g.referer != nil && !g.referer.Allowed(r.Header.Get("Referer")):
		s.deny(w, http.StatusForbidden, "referer")
		return nil
	}
	if g.limiter != nil {
		key := &limitKey{Request: ratelimit.Request{R: r}, ip: ip}
		if ok, wait, _ := g.limiter.Allow(r.URL.Path, key, time.Time{}); !ok {
			w.Header().Set("Retry-After", strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10))
			s.deny(w, http.StatusTooManyRequests, "rate-limit")
			return nil
		}
	}
	if g.verifier == nil {
		return r
	}
	path, query, err := g.verifier.Verify(r.URL.EscapedPath(), r.URL.RawQuery, s.now())
	if err != nil {
		reason := "signature"
		var ve *access.VerifyError
		if errors.As(err, &ve) {
			reason = "signature-" + ve.Reason()
		}
		s.deny(w, http.StatusForbidden, reason)
		return nil
	}
	return withURL(r, path, query)
}

// withURL is r with another escaped path and raw query (a shallow copy: r stays the client's).
func withURL(r *http.Request, escapedPath, rawQuery string) *http.Request {
	if escapedPath == r.URL.EscapedPath() && rawQuery == r.URL.RawQuery {
		return r
	}
	u := *r.URL
	u.RawQuery = rawQuery
	if p, err := url.PathUnescape(escapedPath); err == nil {
		u.Path, u.RawPath = p, escapedPath
	}
	r2 := new(http.Request)
	*r2 = *r // shallow, as WithContext does: the header is shared and nothing below changes it
	r2.URL, r2.RequestURI = &u, u.RequestURI()
	return r2
}

// deny refuses a request the domain's rules do not admit.
func (s *Server) deny(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("X-Pixcdn-Denied", reason)
	s.writeError(w, status, reason, httpcache.Status{Fwd: "bypass", Detail: reason})
}

// limitKey gives the rate limiter the client IP the edge decided on (X-Forwarded-For from
// trusted proxies), the rest from the request.
type limitKey struct {
	ratelimit.Request
	ip netip.Addr
}

func (k *limitKey) ClientIP() string {
	if !k.ip.IsValid() {
		return ""
	}
	return k.ip.String()
}
