package ratelimit

import (
	"fmt"
	"time"
)

// Config is a set of rules sharing one bounded key table (one Limiter per domain, typically).
type Config struct {
	Rules []Rule
	// MaxKeys bounds the (rule, key) pairs tracked at once across all rules; the table holds
	// at most this many and evicts the least recently seen beyond it. Each slot costs
	// bytesPerKey (32) bytes, allocated up front by New. 0 means DefaultMaxKeys.
	MaxKeys int
	// Now is the clock used when Allow is given a zero time, and to anchor the table's
	// monotonic time base. nil means time.Now.
	Now func() time.Time
}

const (
	// DefaultMaxKeys is 100,000 keys: 3.2 MB per Limiter. That is room for every client of a
	// busy domain within a typical Interval or Block, and small enough to give every domain of
	// an edge its own Limiter.
	DefaultMaxKeys = 100_000
	// minMaxKeys is one set of the table: fewer could not hold even one set's ways.
	minMaxKeys = ways
	// bytesPerKey is the table's cost per slot: an 8-byte tag and a 24-byte state.
	bytesPerKey = 32
)

func (c Config) withDefaults() Config {
	if c.MaxKeys == 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first problem with c (after defaults). A Config without rules is valid:
// its Limiter allows everything.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.MaxKeys < minMaxKeys {
		return fmt.Errorf("ratelimit: MaxKeys %d is below the minimum %d", c.MaxKeys, minMaxKeys)
	}
	names := make(map[string]bool, len(c.Rules))
	for _, r := range c.Rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if names[r.Name] {
			return fmt.Errorf("ratelimit: rule name %q is used twice", r.Name)
		}
		names[r.Name] = true
	}
	return nil
}
