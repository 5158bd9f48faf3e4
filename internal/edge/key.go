package edge

import (
	"net/url"
	"slices"
	"strings"
)

// Query handling modes for the cache key (config: domains[].cache.query.mode).
const (
	queryKeepAll = "keep_all"
	queryDropAll = "drop_all"
	queryKeep    = "keep"
	queryDrop    = "drop"
)

// keyer builds cache keys for one domain. The key is the domain's canonical name (aliases share
// one cache), the escaped path and the query string reduced as the domain's rules say. The scheme
// is not part of the key: http and https serve the same objects.
type keyer struct {
	host   string
	mode   string
	params map[string]bool
	sort   bool
}

func newKeyer(host, mode string, params []string, sortParams bool) keyer {
	k := keyer{host: host, mode: mode, sort: sortParams}
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

// key returns the primary cache key for an escaped path and raw query.
func (k *keyer) key(path, rawQuery string) string {
	q := k.query(rawQuery)
	if q == "" {
		return k.host + path
	}
	return k.host + path + "?" + q
}

func (k *keyer) query(raw string) string {
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
		if k.mode == queryKeepAll || k.params[paramName(p)] == (k.mode == queryKeep) {
			kept = append(kept, p)
		}
	}
	if k.sort {
		slices.Sort(kept)
	}
	return strings.Join(kept, "&")
}

// paramName is the unescaped name of one "name=value" query part.
func paramName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	if strings.ContainsAny(name, "%+") {
		if u, err := url.QueryUnescape(name); err == nil {
			return u
		}
	}
	return name
}

// variantKey is the key of one stored variant of a response that varies on request fields.
func variantKey(primary, varyKey string) string {
	return primary + "\x00vary\x00" + varyKey
}
