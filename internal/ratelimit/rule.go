package ratelimit

import (
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"
)

// Rule limits the requests whose path starts with PathPrefix, per distinct value of Key, with a
// token bucket: Requests per Interval on average, up to Burst at once.
type Rule struct {
	Name       string        // reported by Allow and in errors; unique within a Config
	PathPrefix string        // plain string prefix of the path; "" = every path
	Key        string        // "ip" (client IP), "header:NAME", or "query:NAME"
	Requests   int           // allowed per Interval on average
	Interval   time.Duration // the averaging window of Requests
	Burst      int           // token bucket capacity; 0 means Requests
	// Block is how long a key is refused once it exceeds the limit; 0 means only until the
	// next token refills. Refusals during a block do not extend it, so a client that honours
	// Retry-After comes back exactly when the block ends.
	Block time.Duration
}

// Key kinds.
const (
	keyIP = iota
	keyHeader
	keyQuery
)

// parseKey splits Rule.Key into its kind and, for header and query keys, the name. Header
// names come back canonical (textproto) so that http.Header.Get does not have to allocate.
func parseKey(key string) (kind int, name string, err error) {
	switch {
	case key == "ip":
		return keyIP, "", nil
	case strings.HasPrefix(key, "header:"):
		name = strings.TrimPrefix(key, "header:")
		if !validHeaderName(name) {
			return 0, "", fmt.Errorf("key %q: header name must be a non-empty HTTP token", key)
		}
		return keyHeader, textproto.CanonicalMIMEHeaderKey(name), nil
	case strings.HasPrefix(key, "query:"):
		name = strings.TrimPrefix(key, "query:")
		if name == "" || strings.ContainsAny(name, "&=#") {
			return 0, "", fmt.Errorf("key %q: query parameter name must be non-empty, without & = #", key)
		}
		return keyQuery, name, nil
	}
	return 0, "", fmt.Errorf("key %q: want \"ip\", \"header:NAME\" or \"query:NAME\"", key)
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// burst is the bucket capacity after the default.
func (r Rule) burst() int {
	if r.Burst == 0 {
		return r.Requests
	}
	return r.Burst
}

// Validate reports the first problem with r.
func (r Rule) Validate() error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("ratelimit: rule %q: %w", r.Name, err)
	}
	return nil
}

func (r Rule) validate() error {
	if r.Name == "" {
		return errors.New("name is empty")
	}
	if r.PathPrefix != "" && r.PathPrefix[0] != '/' {
		return fmt.Errorf("path prefix %q must start with /", r.PathPrefix)
	}
	if _, _, err := parseKey(r.Key); err != nil {
		return err
	}
	if r.Requests <= 0 {
		return fmt.Errorf("requests %d must be positive", r.Requests)
	}
	if r.Interval <= 0 {
		return fmt.Errorf("interval %v must be positive", r.Interval)
	}
	if r.Interval/time.Duration(r.Requests) <= 0 {
		return fmt.Errorf("%d requests per %v is finer than one per nanosecond", r.Requests, r.Interval)
	}
	if r.Burst < 0 {
		return fmt.Errorf("burst %d must not be negative", r.Burst)
	}
	// tau = burst * emission interval must fit an int64 of nanoseconds.
	if int64(r.burst()) > int64(maxTau/(r.Interval/time.Duration(r.Requests))) {
		return fmt.Errorf("burst %d times %v per request overflows", r.burst(), r.Interval/time.Duration(r.Requests))
	}
	if r.Block < 0 || r.Block > maxTau {
		return fmt.Errorf("block %v must be between 0 and %v", r.Block, maxTau)
	}
	return nil
}

// maxTau bounds how far ahead of now a bucket's state may point (about 146 years).
const maxTau = time.Duration(1 << 62)
