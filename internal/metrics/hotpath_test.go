package metrics

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRequestAllocatesNothingForKnownDomain(t *testing.T) {
	m, _ := newTest(t, DefaultConfig())
	ri := &RequestInfo{Domain: "img.example.com", CacheStatus: "hit", Status: 200, BytesSent: 512, Duration: 300 * time.Microsecond}
	m.Request(ri) // first sight resolves the children
	m.OriginRequest("s3", "ok", 200, time.Millisecond, 10)
	m.Coalesced("img.example.com")
	for name, fn := range map[string]func(){
		"Request":       func() { m.Request(ri) },
		"OriginRequest": func() { m.OriginRequest("s3", "ok", 200, time.Millisecond, 10) },
		"Coalesced":     func() { m.Coalesced("img.example.com") },
	} {
		if a := testing.AllocsPerRun(1000, fn); a != 0 {
			t.Errorf("%s allocates %.1f per call, want 0", name, a)
		}
	}
}

func TestDomainCapFoldsIntoOverflow(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxDomains = 2
	m, reg := newTest(t, cfg)
	for _, d := range []string{"a", "b", "c", "d", "c"} {
		m.Request(&RequestInfo{Domain: d, CacheStatus: "hit", Status: 200})
	}
	const want = `
# HELP pixcdn_requests_total Requests answered, by configured domain, cache class and status class.
# TYPE pixcdn_requests_total counter
pixcdn_requests_total{cache="hit",code_class="2xx",domain="a"} 1
pixcdn_requests_total{cache="hit",code_class="2xx",domain="b"} 1
pixcdn_requests_total{cache="hit",code_class="2xx",domain="~overflow"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pixcdn_requests_total"); err != nil {
		t.Fatal(err)
	}
	// Forgetting a domain frees its slot: a new name gets a series of its own again.
	m.RetainDomains([]string{"a"})
	m.Request(&RequestInfo{Domain: "e", CacheStatus: "miss", Status: 200})
	const after = `
# HELP pixcdn_requests_total Requests answered, by configured domain, cache class and status class.
# TYPE pixcdn_requests_total counter
pixcdn_requests_total{cache="hit",code_class="2xx",domain="a"} 1
pixcdn_requests_total{cache="miss",code_class="2xx",domain="e"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(after), "pixcdn_requests_total"); err != nil {
		t.Fatal(err)
	}
}

func TestRetainDomainsAndOrigins(t *testing.T) {
	m, reg := newTest(t, DefaultConfig())
	for _, d := range []string{"", "keep", "gone"} {
		m.Request(&RequestInfo{Domain: d, CacheStatus: "hit", Status: 200, BytesSent: 1})
		m.Coalesced(d)
	}
	m.OriginRequest("o1", "ok", 200, 0, 1)
	m.OriginRequest("o2", "ok", 200, 0, 1)
	m.RetainDomains([]string{"keep"})
	m.RetainOrigins([]string{"o2"})
	const want = `
# HELP pixcdn_coalesced_waiters_total Requests that waited on another request's origin fill instead of contacting the origin.
# TYPE pixcdn_coalesced_waiters_total counter
pixcdn_coalesced_waiters_total{domain=""} 1
pixcdn_coalesced_waiters_total{domain="keep"} 1
# HELP pixcdn_origin_response_bytes_total Response body bytes read from an origin.
# TYPE pixcdn_origin_response_bytes_total counter
pixcdn_origin_response_bytes_total{origin="o2"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"pixcdn_coalesced_waiters_total", "pixcdn_origin_response_bytes_total"); err != nil {
		t.Fatal(err)
	}
	// A forgotten domain that comes back starts again from zero.
	m.Coalesced("gone")
	if v := testutil.ToFloat64(m.coalesced.WithLabelValues("gone")); v != 1 {
		t.Fatalf("gone after return = %v, want 1", v)
	}
}

func TestConcurrentRequestsCountExactly(t *testing.T) {
	m, reg := newTest(t, DefaultConfig())
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				// New domains appear while others are counted: the copy-on-write path under load.
				m.Request(&RequestInfo{Domain: []string{"a", "b", "c"}[(g+i)%3], CacheStatus: "hit", Status: 200, BytesSent: 2})
			}
		})
	}
	wg.Wait()
	total, bytes := gatheredSum(t, reg, "pixcdn_requests_total"), gatheredSum(t, reg, "pixcdn_response_bytes_total")
	if total != goroutines*each || bytes != 2*goroutines*each {
		t.Fatalf("counted %v requests and %v bytes, want %d and %d", total, bytes, goroutines*each, 2*goroutines*each)
	}
	if n := gatheredSum(t, reg, "pixcdn_request_duration_seconds"); n != goroutines*each {
		t.Fatalf("duration histograms count %v requests, want %d", n, goroutines*each)
	}
}

// gatheredSum adds up every series of one counter (or every histogram's count) in reg.
func gatheredSum(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"empty buckets", func(c *Config) { c.DurationBuckets = nil }, false},
		{"unsorted buckets", func(c *Config) { c.OriginDurationBuckets = []float64{1, 0.5} }, false},
		{"repeated bucket", func(c *Config) { c.DurationBuckets = []float64{1, 1} }, false},
		{"no domains", func(c *Config) { c.MaxDomains = 0 }, false},
		{"no origins", func(c *Config) { c.MaxOrigins = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestRegistration(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	m.Request(&RequestInfo{Domain: "x", CacheStatus: "hit", Status: 200})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "process_cpu_seconds_total", "pixcdn_requests_total"} {
		if !names[n] {
			t.Errorf("registry lacks %s", n)
		}
	}
	if _, err := NewWithConfig(reg, DefaultConfig()); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}

func BenchmarkRequest(b *testing.B) {
	m := New(prometheus.NewRegistry())
	ri := &RequestInfo{Domain: "img.example.com", CacheStatus: "hit", Status: 200, BytesSent: 4096, Duration: 400 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Request(ri)
		}
	})
}

func BenchmarkOriginRequest(b *testing.B) {
	m := New(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.OriginRequest("s3", "ok", 200, 20*time.Millisecond, 4096)
	}
}

// TestCountsSurviveShardHandleLoss: the GC empties the pool of shard handles, so later
// requests take other shards; every count must still be there, summed at scrape.
func TestCountsSurviveShardHandleLoss(t *testing.T) {
	m, reg := newTest(t, DefaultConfig())
	ri := &RequestInfo{Domain: "a", CacheStatus: "hit", Status: 200, BytesSent: 3, Duration: time.Millisecond}
	const rounds, each = 5, 100
	for range rounds {
		for range each {
			m.Request(ri)
		}
		runtime.GC() // twice: the pool's victim cache survives one GC
		runtime.GC()
	}
	if n := m.reqStats.next.Load(); n < rounds {
		t.Fatalf("%d shard handles made, want one per emptied pool (%d)", n, rounds)
	}
	if got := gatheredSum(t, reg, "pixcdn_requests_total"); got != rounds*each {
		t.Fatalf("requests_total = %v, want %d", got, rounds*each)
	}
	if got := gatheredSum(t, reg, "pixcdn_response_bytes_total"); got != 3*rounds*each {
		t.Fatalf("response_bytes_total = %v, want %d", got, 3*rounds*each)
	}
}
