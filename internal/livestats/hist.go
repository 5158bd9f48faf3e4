package livestats

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is log-linear: each power of two from 10 µs up is cut into
// subBuckets equal parts, so a bucket is at most a quarter of its lower bound wide (a
// percentile read from it is within 25 %, usually far less) with under a hundred buckets from
// 10 µs to past 60 s. Bucket 0 holds everything under 10 µs, the last everything from
// about 84 s. The layout is part of the wire format: nodes and the control side must agree
// on it, which is why it is fixed here rather than configured.
const (
	subBits    = 2
	subBuckets = 1 << subBits
	histStep   = 2500 * time.Nanosecond // a sub-bucket of the first octave: 10 µs / subBuckets
	octaves    = 23                     // 10 µs · 2^23 ≈ 84 s
	nBuckets   = 1 + octaves*subBuckets + 1
)

// bucketOf is the histogram bucket of d. The division is by a constant (a multiply), the rest
// a few shifts: cheap enough for every request.
func bucketOf(d time.Duration) int {
	u := uint64(max(d, 0)) / uint64(histStep)
	if u < subBuckets {
		return 0
	}
	k := bits.Len64(u) - subBits - 1 // u is in [subBuckets·2^k, 2·subBuckets·2^k)
	if k >= octaves {
		return nBuckets - 1
	}
	return 1 + k*subBuckets + int(u>>k) - subBuckets
}

// bucketBounds is bucket i's range [lo, hi). The last bucket is open: hi == lo.
func bucketBounds(i int) (lo, hi time.Duration) {
	switch {
	case i <= 0:
		return 0, subBuckets * histStep
	case i >= nBuckets-1:
		lo = time.Duration(subBuckets<<octaves) * histStep
		return lo, lo
	}
	k, sub := (i-1)/subBuckets, (i-1)%subBuckets
	return time.Duration((subBuckets+sub)<<k) * histStep, time.Duration((subBuckets+sub+1)<<k) * histStep
}

// counts is one domain's (or a node's, or a merge's) counters for an interval, with a dense
// histogram: the form every sum is done in, on both sides.
type counts struct {
	requests, bytes, hits, hitBytes, errors uint64
	originRequests, originErrors            uint64
	hist                                    [nBuckets]uint64
}

func (c *counts) add(o *counts) {
	c.requests += o.requests
	c.bytes += o.bytes
	c.hits += o.hits
	c.hitBytes += o.hitBytes
	c.errors += o.errors
	c.originRequests += o.originRequests
	c.originErrors += o.originErrors
	for i, n := range o.hist {
		c.hist[i] += n
	}
}

// sub returns c - o, counter by counter (c is a later reading of the same cells).
func (c *counts) sub(o *counts) counts {
	d := counts{
		requests: c.requests - o.requests, bytes: c.bytes - o.bytes, hits: c.hits - o.hits,
		hitBytes: c.hitBytes - o.hitBytes, errors: c.errors - o.errors,
		originRequests: c.originRequests - o.originRequests, originErrors: c.originErrors - o.originErrors,
	}
	for i := range d.hist {
		d.hist[i] = c.hist[i] - o.hist[i]
	}
	return d
}

func (c *counts) empty() bool { return c.requests == 0 && c.originRequests == 0 }

// addStats adds what a sample reports for one domain. Bucket indexes the layout does not have
// (a node built with another one) are dropped rather than misfiled.
func (c *counts) addStats(d *DomainStats) {
	o := counts{
		requests: d.Requests, bytes: d.Bytes, hits: d.Hits, hitBytes: d.HitBytes, errors: d.Errors,
		originRequests: d.OriginRequests, originErrors: d.OriginErrors,
	}
	c.add(&o)
	for _, b := range d.Hist {
		if b[0] < nBuckets {
			c.hist[b[0]] += b[1]
		}
	}
}

// counters reports c with its ratios and percentiles.
func (c *counts) counters() Counters {
	p50, p90, p99 := c.percentile(0.50), c.percentile(0.90), c.percentile(0.99)
	return Counters{
		Requests: c.requests, Bytes: c.bytes, Hits: c.hits, HitBytes: c.hitBytes, Errors: c.errors,
		OriginRequests: c.originRequests, OriginErrors: c.originErrors,
		RequestHitRatio: ratio(c.hits, c.requests), ByteHitRatio: ratio(c.hitBytes, c.bytes),
		P50: millis(p50), P90: millis(p90), P99: millis(p99),
	}
}

// sparse is the histogram as the wire carries it: only the buckets that counted.
func (c *counts) sparse() Hist {
	var h Hist
	for i, n := range c.hist {
		if n > 0 {
			h = append(h, [2]uint64{uint64(i), n})
		}
	}
	return h
}

// percentile estimates the q-quantile by nearest rank: the bucket holding the rank-th smallest
// value, interpolated linearly inside it, so the estimate always lies in the bucket of the
// true value. 0 for an empty histogram.
func (c *counts) percentile(q float64) time.Duration {
	var total uint64
	for _, n := range c.hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(total))), 1)
	var seen uint64
	for i, n := range c.hist {
		if seen+n < rank {
			seen += n
			continue
		}
		lo, hi := bucketBounds(i)
		frac := (float64(rank-seen) - 0.5) / float64(n)
		return lo + time.Duration(frac*float64(hi-lo))
	}
	return 0 // not reached: rank <= total
}

// ratio is part/whole in [0, 1], to four places. Counters are read without a lock, so a
// request in flight at the tick may show its hit in one second and its request in the next:
// the clamp hides that.
func ratio(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(min(float64(part)/float64(whole), 1)*1e4) / 1e4
}

// millis is d in milliseconds to the microsecond: more digits would only lengthen the JSON.
func millis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
