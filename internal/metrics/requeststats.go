package metrics

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestStats counts pixcdn_requests_total, pixcdn_response_bytes_total and
// pixcdn_request_duration_seconds in plain atomic words sharded by CPU, and turns them into
// Prometheus series only when scraped.
//
// Why not CounterVec and HistogramVec children: every request updated six words that all CPUs
// share (two counters and a histogram's count, bucket, sum and hot index), so on a 2-CPU edge
// nearly every update found the cache line last written by the other CPU. Here a request
// updates four words of its own shard. The shard comes from a sync.Pool, whose Get and Put use
// the calling P's own slot, so a CPU keeps using the same shard without any shared write; when
// the GC empties the pool a new handle takes the next shard in turn, which can only add
// sharing, never lose a count (every update is atomic).
type requestStats struct {
	buckets []float64 // upper bounds in seconds, strictly increasing
	nShards int
	next    atomic.Uint32
	handles sync.Pool // *shardHandle

	requests, bytes, duration, protocols *prometheus.Desc
}

type shardHandle struct{ i int }

// maxShards bounds the memory per domain (about 1.4 KB per shard with the default buckets).
const maxShards = 8

func newRequestStats(buckets []float64) *requestStats {
	rs := &requestStats{buckets: buckets, nShards: min(runtime.GOMAXPROCS(0), maxShards)}
	rs.handles.New = func() any { return &shardHandle{i: int(rs.next.Add(1)-1) % rs.nShards} }
	rs.requests = prometheus.NewDesc(namespace+"_requests_total",
		"Requests answered, by configured domain, cache class and status class.", []string{"domain", "cache", "code_class"}, nil)
	rs.bytes = prometheus.NewDesc(namespace+"_response_bytes_total",
		"Response body bytes sent, by configured domain and cache class.", []string{"domain", "cache"}, nil)
	rs.duration = prometheus.NewDesc(namespace+"_request_duration_seconds",
		"Time from request start to the last body byte written.", []string{"domain", "cache"}, nil)
	rs.protocols = prometheus.NewDesc(namespace+"_requests_by_protocol_total",
		"Requests answered, by configured domain and HTTP version (http1, h2, h3).", []string{"domain", "proto"}, nil)
	return rs
}

// requestCells is one shard of one domain's counts, allocated on its own so that shards do
// not share cache lines (each is far larger than a line).
type requestCells struct {
	_        [64]byte // keeps the words below off the line of whatever was allocated before
	requests [nCache][nCode]atomic.Uint64
	bytes    [nCache]atomic.Uint64
	nanos    [nCache]atomic.Int64 // duration sum
	protos   [nProto]atomic.Uint64
	// counts holds, per cache class, one count per bucket (not cumulative) and one past the
	// last bound (+Inf).
	counts []atomic.Uint64
}

func (rs *requestStats) newShards() []*requestCells {
	shards := make([]*requestCells, rs.nShards)
	for i := range shards {
		n := nCache * (len(rs.buckets) + 1)
		shards[i] = &requestCells{counts: make([]atomic.Uint64, n+16)[8 : 8+n]} // 64 bytes clear each side
	}
	return shards
}

// add counts one request into one of shards.
func (rs *requestStats) add(shards []*requestCells, ci, ki, pi int, bytes int64, d time.Duration) {
	h := rs.handles.Get().(*shardHandle)
	c := shards[h.i]
	rs.handles.Put(h)
	c.requests[ci][ki].Add(1)
	c.protos[pi].Add(1)
	c.bytes[ci].Add(uint64(max(bytes, 0)))
	c.nanos[ci].Add(int64(d))
	c.counts[ci*(len(rs.buckets)+1)+rs.bucket(d.Seconds())].Add(1)
}

// bucket is the index of the first bound v does not exceed (len(buckets) for +Inf). A linear
// scan: there are few buckets and most requests land in the first ones.
func (rs *requestStats) bucket(v float64) int {
	for i, ub := range rs.buckets {
		if v <= ub {
			return i
		}
	}
	return len(rs.buckets)
}

// collect sends one domain's series: a requests_total series per (cache, code) seen, and a
// bytes and a duration series per cache class seen, as the lazily created children did.
func (rs *requestStats) collect(ch chan<- prometheus.Metric, domain string, shards []*requestCells) {
	for pi := range nProto {
		var n uint64
		for _, c := range shards {
			n += c.protos[pi].Load()
		}
		if n > 0 {
			ch <- prometheus.MustNewConstMetric(rs.protocols, prometheus.CounterValue, float64(n), domain, protoLabels[pi])
		}
	}
	nb := len(rs.buckets) + 1
	for ci := range nCache {
		var seen, bytes uint64
		var nanos int64
		for ki := range nCode {
			var n uint64
			for _, c := range shards {
				n += c.requests[ci][ki].Load()
			}
			if n > 0 {
				ch <- prometheus.MustNewConstMetric(rs.requests, prometheus.CounterValue, float64(n), domain, cacheLabels[ci], codeLabels[ki])
			}
			seen += n
		}
		if seen == 0 {
			continue
		}
		counts := make([]uint64, nb)
		for _, c := range shards {
			bytes += c.bytes[ci].Load()
			nanos += c.nanos[ci].Load()
			for b := range nb {
				counts[b] += c.counts[ci*nb+b].Load()
			}
		}
		ch <- prometheus.MustNewConstMetric(rs.bytes, prometheus.CounterValue, float64(bytes), domain, cacheLabels[ci])
		ch <- rs.histogram(domain, ci, counts, nanos)
	}
}

// histogram builds the cumulative histogram from per-bucket counts. The count is the sum of
// the buckets, not the requests counted above, so the series is consistent in itself even
// when a request lands between the loads.
func (rs *requestStats) histogram(domain string, ci int, counts []uint64, nanos int64) prometheus.Metric {
	cum := make(map[float64]uint64, len(rs.buckets))
	var total uint64
	for b, ub := range rs.buckets {
		total += counts[b]
		cum[ub] = total
	}
	total += counts[len(rs.buckets)]
	return prometheus.MustNewConstHistogram(rs.duration, total, time.Duration(nanos).Seconds(), cum, domain, cacheLabels[ci])
}

// requestCollector exports requestStats for every domain of m.
type requestCollector struct{ m *Metrics }

var _ prometheus.Collector = requestCollector{}

func (c requestCollector) Describe(ch chan<- *prometheus.Desc) {
	rs := c.m.reqStats
	ch <- rs.requests
	ch <- rs.bytes
	ch <- rs.duration
	ch <- rs.protocols
}

// Collect reads the domains map as it is now; names folded into the overflow series map to it
// and are skipped, so it is sent once, under OverflowLabel.
func (c requestCollector) Collect(ch chan<- prometheus.Metric) {
	for name, d := range *c.m.domains.m.Load() {
		if name == d.name {
			c.m.reqStats.collect(ch, d.name, d.shards)
		}
	}
}
