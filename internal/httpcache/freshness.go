package httpcache

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Heuristic is the freshness given to a response that carries only Last-Modified (RFC 9111
// 4.2.2): Percent of the time since Last-Modified, clamped to [Min, Max]. Zero fields mean the
// defaults 10 %, 10 s and 3600 s, which is what CDNs commonly do.
//
// Default, when positive, replaces the heuristic: a response of a status cacheable by default
// below 400 that carries no explicit freshness (max-age, s-maxage, Expires) is fresh this long,
// with or without Last-Modified, as nginx's proxy_cache_valid does for an origin that sends no
// caching headers at all. Error statuses (404, 410...) keep the heuristic, so a missing object
// is not pinned for the operator's default lifetime.
type Heuristic struct {
	Percent  int
	Min, Max time.Duration
	Default  time.Duration
}

// Default heuristic values (DESIGN.md, field references).
const (
	DefaultHeuristicPercent = 10
	DefaultHeuristicMin     = 10 * time.Second
	DefaultHeuristicMax     = time.Hour
)

var errHeuristic = errors.New("httpcache: invalid heuristic")

// Validate reports a configuration that cannot mean anything: negative values or Min above Max
// (after defaults are applied).
func (h Heuristic) Validate() error {
	if h.Percent < 0 || h.Min < 0 || h.Max < 0 || h.Default < 0 {
		return fmt.Errorf("%w: negative value in %+v", errHeuristic, h)
	}
	if d := h.withDefaults(); d.Min > d.Max {
		return fmt.Errorf("%w: min %v above max %v", errHeuristic, d.Min, d.Max)
	}
	return nil
}

func (h Heuristic) withDefaults() Heuristic {
	if h.Percent == 0 {
		h.Percent = DefaultHeuristicPercent
	}
	if h.Min == 0 {
		h.Min = DefaultHeuristicMin
	}
	if h.Max == 0 {
		h.Max = DefaultHeuristicMax
	}
	return h
}

// Freshness is the cache's decision about one response.
type Freshness struct {
	Storable bool
	// Reason says why a response is not storable: "method", "partial", "status",
	// "request-no-store", "no-store", "private", "authorization", "set-cookie", "vary-star".
	// Empty when storable.
	Reason    string
	TTL       time.Duration // freshness lifetime, RFC 9111 4.2.1 (not reduced by Age: see InitialAge)
	Heuristic bool          // TTL came from the heuristic
	// StaleWhileRevalidate and StaleIfError are RFC 5861's windows past TTL.
	StaleWhileRevalidate, StaleIfError time.Duration
	// MustRevalidate is set by must-revalidate, proxy-revalidate or s-maxage (RFC 9111 5.2.2.2,
	// 5.2.2.8, 5.2.2.10): never serve stale without validating, whatever SWR/SIE say.
	MustRevalidate bool
	// NoCache is the unqualified no-cache: store, but validate before every use regardless of TTL.
	NoCache bool
	// OmitFields are the fields named by qualified private= and no-cache= directives; the edge
	// removes them before storing, which is the simple safe reading of RFC 9111 5.2.2.4/5.2.2.7.
	OmitFields []string
	// Targeted is true when CDN-Cache-Control decided (RFC 9213) and Cache-Control was ignored.
	Targeted bool
}

// heuristicallyCacheable are the statuses RFC 9110 15.1 marks as cacheable by default.
func heuristicallyCacheable(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// Evaluate decides storability and freshness of a response for a shared cache.
//
// method is the request method (only GET and HEAD responses are stored), reqHeader the client's
// request header (Authorization and a request no-store matter, RFC 9111 3.5 and 5.2.1.5),
// status and respHeader the origin's answer, now the time the response was received (used when
// Date is missing), h the heuristic for responses with only Last-Modified.
//
// A CDN-Cache-Control field with at least one valid directive replaces Cache-Control and Expires
// entirely (RFC 9213 2.2), both for storability and for freshness. Set-Cookie is never stored (a
// per-user cookie served to everyone is the classic CDN leak) and neither is Vary: *. A 206 is
// never stored because the edge fills whole objects. A status that is not heuristically cacheable
// is stored only with explicit freshness (max-age, s-maxage, Expires) or public.
//
// A storable response without explicit freshness and without Last-Modified gets TTL 0: stored,
// but stale at once, so it is served only after validation or under stale-* rules.
func Evaluate(method string, reqHeader http.Header, status int, respHeader http.Header, now time.Time, h Heuristic) Freshness {
	d, targeted := effectiveDirectives(respHeader)
	if reason := refusal(method, reqHeader, status, respHeader, d); reason != "" {
		return Freshness{Reason: reason, Targeted: targeted}
	}
	_, hasExpires := respHeader["Expires"]
	hasExpires = hasExpires && !targeted
	explicit := d.HasMaxAge || d.HasSMaxAge || hasExpires
	if !explicit && !d.Public && !heuristicallyCacheable(status) {
		return Freshness{Reason: "status", Targeted: targeted}
	}
	f := Freshness{
		Storable:       true,
		MustRevalidate: d.MustRevalidate || d.ProxyRevalidate || d.HasSMaxAge,
		NoCache:        d.NoCache,
		Targeted:       targeted,
	}
	f.OmitFields = append(append(f.OmitFields, d.PrivateFields...), d.NoCacheFields...)
	if d.HasSWR {
		f.StaleWhileRevalidate = d.StaleWhileRevalidate
	}
	if d.HasSIE {
		f.StaleIfError = d.StaleIfError
	}
	switch {
	case d.HasSMaxAge:
		f.TTL = d.SMaxAge
	case d.HasMaxAge:
		f.TTL = d.MaxAge
	case hasExpires:
		f.TTL = expiresTTL(respHeader, now)
	case h.Default > 0 && status < 400:
		f.TTL = h.Default
	default:
		f.TTL, f.Heuristic = heuristicTTL(respHeader, now, h)
	}
	return f
}

// effectiveDirectives picks CDN-Cache-Control over Cache-Control when it has valid content: a
// Structured Field dictionary (validCDNCacheControl) with at least one directive known here.
func effectiveDirectives(respHeader http.Header) (Directives, bool) {
	if lines := respHeader["Cdn-Cache-Control"]; len(lines) > 0 && validCDNCacheControl(lines) {
		if d, n := parseDirectives(lines); n > 0 {
			return d, true
		}
	}
	return ParseCacheControl(respHeader["Cache-Control"]), false
}

// refusal returns why a response must not be stored, checking the cheap and the absolute rules
// first; "" when none applies.
func refusal(method string, reqHeader http.Header, status int, respHeader http.Header, d Directives) string {
	switch {
	case method != http.MethodGet && method != http.MethodHead:
		return "method"
	case status == http.StatusPartialContent:
		return "partial"
	case status < 200 || status > 599 || status == http.StatusNotModified:
		return "status" // not a final, self-contained response (RFC 9111 3)
	case ParseCacheControl(reqHeader["Cache-Control"]).NoStore:
		return "request-no-store"
	case d.NoStore:
		return "no-store"
	case d.Private:
		return "private"
	case reqHeader.Get("Authorization") != "" && !d.Public && !d.HasSMaxAge && !d.MustRevalidate:
		return "authorization"
	case len(respHeader["Set-Cookie"]) > 0:
		return "set-cookie"
	}
	if _, star := VaryFields(respHeader); star {
		return "vary-star"
	}
	return ""
}

// expiresTTL is Expires minus Date (RFC 9111 4.2.1); an invalid Expires, "0" included, is
// already expired (RFC 9111 5.3), and a missing Date is the time of receipt. Expires is one
// HTTP-date: several field lines, or a date the strict grammar refuses (a one-digit hour, extra
// spaces, a wrong weekday), are invalid, never fresh.
func expiresTTL(respHeader http.Header, now time.Time) time.Duration {
	lines := respHeader["Expires"]
	if len(lines) != 1 {
		return 0
	}
	exp, ok := ParseHTTPDate(lines[0])
	if !ok {
		return 0
	}
	return max(exp.Sub(dateOr(respHeader, now)), 0)
}

// httpDateLayouts are the three forms of an HTTP-date (RFC 9110 5.6.7): IMF-fixdate and the two
// obsolete ones a recipient must still accept.
var httpDateLayouts = [...]string{http.TimeFormat, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"}

// ParseHTTPDate parses an HTTP-date by its grammar exactly: net/http's ParseTime also takes
// one-digit hours and doubled spaces, which the grammar does not. A value is taken when it
// parses in one of the three forms and prints back the same.
func ParseHTTPDate(s string) (time.Time, bool) {
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, s); err == nil && t.Format(layout) == s {
			return t, true
		}
	}
	return time.Time{}, false
}

// heuristicTTL applies h to Date − Last-Modified. A Last-Modified in the future of Date is
// nonsense and earns no heuristic freshness.
func heuristicTTL(respHeader http.Header, now time.Time, h Heuristic) (time.Duration, bool) {
	lm, err := http.ParseTime(respHeader.Get("Last-Modified"))
	if err != nil {
		return 0, false
	}
	age := dateOr(respHeader, now).Sub(lm)
	if age < 0 {
		return 0, false
	}
	h = h.withDefaults()
	// In float64 so a large Percent cannot overflow; clamp before converting back.
	ttl := float64(age) * float64(h.Percent) / 100
	if ttl >= float64(h.Max) {
		return h.Max, true
	}
	return max(time.Duration(ttl), h.Min), true
}

// dateOr is the response's Date, or fallback when it is missing or invalid (RFC 9110 6.6.1).
func dateOr(respHeader http.Header, fallback time.Time) time.Time {
	if t, err := http.ParseTime(respHeader.Get("Date")); err == nil {
		return t
	}
	return fallback
}
