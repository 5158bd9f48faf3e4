package objcache

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pixcdn/pixcdn/internal/config"
)

// Query handling modes for the cache key (config: domains[].cache.query.mode).
const (
	queryKeepAll = "keep_all"
	queryDropAll = "drop_all"
	queryKeep    = "keep"
	queryDrop    = "drop"
)

// Keyer builds cache keys for one domain. The key is the domain's canonical name (aliases share
// one cache) or, for a domain keyed by host, the request's canonical host; then the escaped path
// and the query string reduced as the domain's rules say; then the values of the request fields
// the domain keys on. The scheme is not part of the key: http and https serve the same objects.
//
// What the origin is told of a request (its Host, X-Forwarded-Host, the keyed fields) is what
// the key holds, so one client's Host or header can never become another client's hit.
type Keyer struct {
	host    string
	byHost  bool
	headers []string // canonical field names
	mode    string
	params  map[string]bool
	sort    bool
}

// KeyConfig is what a domain's keys are made of.
type KeyConfig struct {
	Name       string   // the domain's name ("*" for the catch-all, "*.example.com" for a wildcard)
	ByHost     bool     // the request's canonical host instead of Name
	Headers    []string // canonical names of request fields in the key
	QueryMode  string   // keep_all (default), drop_all, keep, drop
	Params     []string // for keep and drop
	SortParams bool     // parameter order does not matter
}

// NewKeyer makes the Keyer of a domain.
func NewKeyer(c KeyConfig) Keyer {
	k := Keyer{host: c.Name, byHost: c.ByHost, headers: c.Headers, mode: c.QueryMode, sort: c.SortParams}
	params := c.Params
	if k.mode == "" {
		k.mode = queryKeepAll
	}
	if len(params) > 0 {
		k.params = make(map[string]bool, len(params))
		for _, p := range params {
			k.params[p] = true
		}
	}
	return k
}

// Key returns the primary cache key of a request for host (as the client sent it), an escaped
// path and a raw query; h holds the request's fields (nil: none, as for a purge).
func (k *Keyer) Key(host, path, rawQuery string, h http.Header) string {
	if len(k.headers) > 0 {
		return k.URLKey(host, path, rawQuery) + k.headerPart(h)
	}
	return k.URLKey(host, path, rawQuery)
}

// URLKey is the URL's part of a key: what a URL purge names.
func (k *Keyer) URLKey(host, path, rawQuery string) string {
	if q := k.query(rawQuery); q != "" {
		return k.Base(host) + path + "?" + q
	}
	return k.Base(host) + path
}

// Base is what every key of a request to host starts with: a prefix purge's start.
func (k *Keyer) Base(host string) string {
	if k.byHost {
		return config.CanonicalHost(host)
	}
	return k.host
}

// urlPart is the URL's part of a primary key (the key without its keyed fields).
func urlPart(primary string) string {
	if i := strings.Index(primary, keyedFields); i >= 0 {
		return primary[:i]
	}
	return primary
}

// keyedFields separates the URL part of a key from the keyed request fields that follow it.
const keyedFields = "\x00h\x00"

// headerPart is the keyed fields' share of a key: every field, present or not, in the
// configured order, so that "absent" and "empty" key apart.
func (k *Keyer) headerPart(h http.Header) string {
	var b strings.Builder
	b.WriteString(keyedFields)
	for _, name := range k.headers {
		vs, ok := h[name]
		b.WriteString(name)
		if ok {
			b.WriteByte('=')
			b.WriteString(strings.Join(vs, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// UpstreamHost is the Host the origin is sent for a request to host (the origin's own Host
// setting overrides it): the request's canonical host when the key holds it, the domain's
// name for a named domain, and "" (the origin server's own host) for the catch-all or a
// wildcard domain keyed without its host. Never the raw header: a port or case a client
// chose must not reach an origin that builds links from it.
func (k *Keyer) UpstreamHost(host string) string {
	switch {
	case k.byHost:
		return config.CanonicalHost(host)
	case k.host == config.CatchAll || strings.HasPrefix(k.host, "*."):
		return ""
	}
	return k.host
}

func (k *Keyer) query(raw string) string {
	if raw == "" || k.mode == queryDropAll {
		return ""
	}
	if k.mode == queryKeepAll && (!k.sort || !strings.Contains(raw, "&")) {
		return raw
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p == "" {
			continue
		}
		if k.mode == queryKeepAll || k.params[ParamName(p)] == (k.mode == queryKeep) {
			kept = append(kept, p)
		}
	}
	if k.sort {
		slices.Sort(kept)
	}
	return strings.Join(kept, "&")
}

// ParamName is the unescaped name of one "name=value" query part.
func ParamName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	if strings.ContainsAny(name, "%+") {
		if u, err := url.QueryUnescape(name); err == nil {
			return u
		}
	}
	return name
}

// VariantKey is the key of one stored variant of a response that varies on request fields.
func VariantKey(primary, varyKey string) string {
	return primary + "\x00vary\x00" + varyKey
}

// Keyed reports whether field is part of the domain's keys.
func (k *Keyer) Keyed(field string) bool { return slices.Contains(k.headers, field) }
