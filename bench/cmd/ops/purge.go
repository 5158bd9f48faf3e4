package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

// maxProbes bounds how long a purge may take to show before the run calls it broken.
const maxProbes = 1000

// firstMiss requests paths (from next) until one misses; it returns when that answer arrived,
// how many requests it took and the first answer's outcome.
func firstMiss(c *Client, next func() string) (time.Time, int, Outcome, error) {
	first := Other
	for n := 1; n <= maxProbes; n++ {
		o, cs, done, err := c.Get(next())
		if err != nil {
			return done, n, first, err
		}
		if n == 1 {
			first = o
		}
		if o == Miss {
			return done, n, first, nil
		}
		if o != Hit {
			return done, n, first, fmt.Errorf("neither hit nor miss: Cache-Status %q", cs)
		}
	}
	return time.Time{}, maxProbes, first, fmt.Errorf("no miss in %d requests after the purge", maxProbes)
}

// ensureHit requests path until it is a hit (it is filled by the first request at the latest).
func ensureHit(c *Client, path string) error {
	for range 3 {
		o, _, _, err := c.Get(path)
		if err != nil {
			return err
		}
		if o == Hit {
			return nil
		}
	}
	return fmt.Errorf("%s: %w after 3 requests", path, errNotHit)
}

// runPurgeURL, reps times: make path a hit, purge it, and time from the purge's answer to the
// first response that missed.
func runPurgeURL(out io.Writer, c *Client, path string, reps int) error {
	var call, toMiss []time.Duration
	notFirst := 0
	for range reps {
		if err := ensureHit(c, path); err != nil {
			return err
		}
		t0 := time.Now()
		if err := c.Purge("url", c.Target(path)); err != nil {
			return err
		}
		answered := time.Now()
		missed, _, first, err := firstMiss(c, func() string { return path })
		if err != nil {
			return err
		}
		if first != Miss {
			notFirst++
		}
		call = append(call, answered.Sub(t0))
		toMiss = append(toMiss, missed.Sub(answered))
	}
	cs, ms := latency.Summarize(call), latency.Summarize(toMiss)
	fmt.Fprintf(out, "RESULT reps=%d purge_p50_us=%d purge_p99_us=%d purge_max_us=%d miss_p50_us=%d miss_p99_us=%d miss_max_us=%d first_not_miss=%d\n",
		reps, cs.P50.Microseconds(), cs.P99.Microseconds(), cs.Max.Microseconds(),
		ms.P50.Microseconds(), ms.P99.Microseconds(), ms.Max.Microseconds(), notFirst)
	return nil
}

// runPurgePrefix waits delay, purges prefix and requests objects under it until one misses:
// the purge call's latency and the time from its answer to that first miss. The probes are
// the last maxProbes objects (n-1, n-2, ...), so a sample of [0, n-maxProbes) afterwards finds
// none of them refilled.
func runPurgePrefix(out io.Writer, c *Client, prefix string, n int, delay time.Duration) error {
	if n < maxProbes {
		return fmt.Errorf("purge-prefix: -n %d below %d", n, maxProbes)
	}
	<-time.After(delay)
	i := n
	next := func() string { i--; return prefix + strconv.Itoa(i) }
	t0 := time.Now()
	if err := c.Purge("prefix", c.Target(prefix)); err != nil {
		return err
	}
	answered := time.Now()
	missed, probes, first, err := firstMiss(c, next)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "RESULT purge_us=%d miss_us=%d probes=%d first=%s\n",
		answered.Sub(t0).Microseconds(), missed.Sub(answered).Microseconds(), probes, first)
	return nil
}
