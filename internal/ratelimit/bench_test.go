package ratelimit

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func benchLimiter(b *testing.B, maxKeys int) *Limiter {
	return newLimiter(b, maxKeys,
		Rule{Name: "api", PathPrefix: "/api/", Key: "header:X-Api-Key", Requests: 100, Interval: time.Second},
		Rule{Name: "all", Key: "ip", Requests: 1_000_000, Interval: time.Second})
}

// BenchmarkAllowKnownKey is the common case: a client already in the table.
func BenchmarkAllowKnownKey(b *testing.B) {
	l := benchLimiter(b, 0)
	k := ip("192.0.2.1")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow("/img/a.png", k, t0.Add(time.Duration(i)*time.Microsecond))
		i++
	}
}

// BenchmarkAllowNewKeys is a spoofed-key flood: every request a key the table has not seen,
// each evicting another (1M distinct keys through a 100k table).
func BenchmarkAllowNewKeys(b *testing.B) {
	l := benchLimiter(b, 100_000)
	ks := distinct(1 << 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow("/img/a.png", ks[i&(len(ks)-1)], t0.Add(time.Duration(i)))
		i++
	}
}

// BenchmarkAllowParallel: one known key per goroutine, so goroutines mostly hit different shards.
func BenchmarkAllowParallel(b *testing.B) {
	l := benchLimiter(b, 0)
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		k := ip("198.51.100." + strconv.Itoa(int(id.Add(1))))
		i := 0
		for pb.Next() {
			l.Allow("/img/a.png", k, t0.Add(time.Duration(i)))
			i++
		}
	})
}

// BenchmarkAllowParallelNewKeys: the flood from every core at once.
func BenchmarkAllowParallelNewKeys(b *testing.B) {
	l := benchLimiter(b, 100_000)
	ks := distinct(1 << 20)
	var id atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(id.Add(1)) * 7919
		for pb.Next() {
			l.Allow("/img/a.png", ks[i&(len(ks)-1)], t0.Add(time.Duration(i)))
			i++
		}
	})
}

// BenchmarkFloodMemory sends 1,000,000 distinct keys through a Limiter and reports the Go heap
// in use (after GC) that the Limiter accounts for, in total and per tracked key.
func BenchmarkFloodMemory(b *testing.B) {
	ks := distinct(1_000_000)
	for _, maxKeys := range []int{100_000, 1_000_000} {
		b.Run("MaxKeys="+strconv.Itoa(maxKeys), func(b *testing.B) {
			var heap uint64
			var st Stats
			for b.Loop() {
				before := heapInUse()
				l := newLimiter(b, maxKeys, perSecond(10, 10))
				for i, k := range ks {
					l.Allow("/", k, t0.Add(time.Duration(i)))
				}
				heap = heapInUse() - before
				st = l.Stats()
				runtime.KeepAlive(l)
			}
			b.ReportMetric(float64(heap)/(1<<20), "heapMB")
			b.ReportMetric(float64(heap)/float64(st.Capacity), "B/key")
			b.ReportMetric(float64(st.Keys), "keys")
			b.ReportMetric(float64(st.Evictions), "evictions")
		})
	}
	runtime.KeepAlive(ks)
}
