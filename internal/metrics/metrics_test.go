package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTest(t *testing.T, cfg Config) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewWithConfig(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// smallBuckets keeps the expected exposition short.
func smallBuckets() Config {
	c := DefaultConfig()
	c.DurationBuckets = []float64{0.001, 0.1, 1}
	c.OriginDurationBuckets = []float64{0.1, 1}
	return c
}

func TestScriptedSequence(t *testing.T) {
	m, reg := newTest(t, smallBuckets())
	for _, ri := range []RequestInfo{
		{Domain: "img.example.com", CacheStatus: "hit", Status: 200, BytesSent: 1000, Duration: 500 * time.Microsecond, ProtoMajor: 1},
		{Domain: "img.example.com", CacheStatus: "hit", Status: 304, BytesSent: 0, Duration: 500 * time.Microsecond, ProtoMajor: 2},
		{Domain: "img.example.com", CacheStatus: "miss", Status: 200, BytesSent: 3000, Duration: 250 * time.Millisecond, ProtoMajor: 3},
		{Domain: "img.example.com", CacheStatus: "hit", Status: 200, BytesSent: 1000, Duration: 2 * time.Second, ProtoMajor: 3},
		{Domain: "", CacheStatus: "", Status: 404, BytesSent: 9, Duration: 0, ProtoMajor: 1},
		{Domain: "*", CacheStatus: "bogus", Status: 0, BytesSent: 0, Duration: 0},
	} {
		m.Request(&ri)
	}
	m.OriginRequest("s3", "ok", 200, 250*time.Millisecond, 3000)
	m.OriginRequest("s3", "ok", 503, 500*time.Millisecond, 0)
	m.OriginRequest("s3", "timeout", 0, 2*time.Second, 0)
	m.OriginRequest("web", "nonsense", 0, 0, 0)
	m.Coalesced("img.example.com")
	m.Coalesced("img.example.com")
	m.Purge("url", true)
	m.Purge("url", false)
	m.Purge("url", false)

	const want = `
# HELP pixcdn_requests_total Requests answered, by configured domain, cache class and status class.
# TYPE pixcdn_requests_total counter
pixcdn_requests_total{cache="hit",code_class="2xx",domain="img.example.com"} 2
pixcdn_requests_total{cache="hit",code_class="3xx",domain="img.example.com"} 1
pixcdn_requests_total{cache="miss",code_class="2xx",domain="img.example.com"} 1
pixcdn_requests_total{cache="none",code_class="4xx",domain=""} 1
pixcdn_requests_total{cache="other",code_class="other",domain="*"} 1
# HELP pixcdn_requests_by_protocol_total Requests answered, by configured domain and HTTP version (http1, h2, h3).
# TYPE pixcdn_requests_by_protocol_total counter
pixcdn_requests_by_protocol_total{domain="img.example.com",proto="http1"} 1
pixcdn_requests_by_protocol_total{domain="img.example.com",proto="h2"} 1
pixcdn_requests_by_protocol_total{domain="img.example.com",proto="h3"} 2
pixcdn_requests_by_protocol_total{domain="",proto="http1"} 1
pixcdn_requests_by_protocol_total{domain="*",proto="other"} 1
# HELP pixcdn_response_bytes_total Response body bytes sent, by configured domain and cache class.
# TYPE pixcdn_response_bytes_total counter
pixcdn_response_bytes_total{cache="hit",domain="img.example.com"} 2000
pixcdn_response_bytes_total{cache="miss",domain="img.example.com"} 3000
pixcdn_response_bytes_total{cache="none",domain=""} 9
pixcdn_response_bytes_total{cache="other",domain="*"} 0
# HELP pixcdn_request_duration_seconds Time from request start to the last body byte written.
# TYPE pixcdn_request_duration_seconds histogram
pixcdn_request_duration_seconds_bucket{cache="hit",domain="img.example.com",le="0.001"} 2
pixcdn_request_duration_seconds_bucket{cache="hit",domain="img.example.com",le="0.1"} 2
pixcdn_request_duration_seconds_bucket{cache="hit",domain="img.example.com",le="1"} 2
pixcdn_request_duration_seconds_bucket{cache="hit",domain="img.example.com",le="+Inf"} 3
pixcdn_request_duration_seconds_sum{cache="hit",domain="img.example.com"} 2.001
pixcdn_request_duration_seconds_count{cache="hit",domain="img.example.com"} 3
pixcdn_request_duration_seconds_bucket{cache="miss",domain="img.example.com",le="0.001"} 0
pixcdn_request_duration_seconds_bucket{cache="miss",domain="img.example.com",le="0.1"} 0
pixcdn_request_duration_seconds_bucket{cache="miss",domain="img.example.com",le="1"} 1
pixcdn_request_duration_seconds_bucket{cache="miss",domain="img.example.com",le="+Inf"} 1
pixcdn_request_duration_seconds_sum{cache="miss",domain="img.example.com"} 0.25
pixcdn_request_duration_seconds_count{cache="miss",domain="img.example.com"} 1
pixcdn_request_duration_seconds_bucket{cache="none",domain="",le="0.001"} 1
pixcdn_request_duration_seconds_bucket{cache="none",domain="",le="0.1"} 1
pixcdn_request_duration_seconds_bucket{cache="none",domain="",le="1"} 1
pixcdn_request_duration_seconds_bucket{cache="none",domain="",le="+Inf"} 1
pixcdn_request_duration_seconds_sum{cache="none",domain=""} 0
pixcdn_request_duration_seconds_count{cache="none",domain=""} 1
pixcdn_request_duration_seconds_bucket{cache="other",domain="*",le="0.001"} 1
pixcdn_request_duration_seconds_bucket{cache="other",domain="*",le="0.1"} 1
pixcdn_request_duration_seconds_bucket{cache="other",domain="*",le="1"} 1
pixcdn_request_duration_seconds_bucket{cache="other",domain="*",le="+Inf"} 1
pixcdn_request_duration_seconds_sum{cache="other",domain="*"} 0
pixcdn_request_duration_seconds_count{cache="other",domain="*"} 1
# HELP pixcdn_origin_requests_total Requests sent to an origin, by outcome.
# TYPE pixcdn_origin_requests_total counter
pixcdn_origin_requests_total{origin="s3",outcome="5xx"} 1
pixcdn_origin_requests_total{origin="s3",outcome="ok"} 1
pixcdn_origin_requests_total{origin="s3",outcome="timeout"} 1
pixcdn_origin_requests_total{origin="web",outcome="other"} 1
# HELP pixcdn_origin_duration_seconds Time waiting on an origin for one request.
# TYPE pixcdn_origin_duration_seconds histogram
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="5xx",le="0.1"} 0
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="5xx",le="1"} 1
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="5xx",le="+Inf"} 1
pixcdn_origin_duration_seconds_sum{origin="s3",outcome="5xx"} 0.5
pixcdn_origin_duration_seconds_count{origin="s3",outcome="5xx"} 1
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="ok",le="0.1"} 0
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="ok",le="1"} 1
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="ok",le="+Inf"} 1
pixcdn_origin_duration_seconds_sum{origin="s3",outcome="ok"} 0.25
pixcdn_origin_duration_seconds_count{origin="s3",outcome="ok"} 1
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="timeout",le="0.1"} 0
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="timeout",le="1"} 0
pixcdn_origin_duration_seconds_bucket{origin="s3",outcome="timeout",le="+Inf"} 1
pixcdn_origin_duration_seconds_sum{origin="s3",outcome="timeout"} 2
pixcdn_origin_duration_seconds_count{origin="s3",outcome="timeout"} 1
pixcdn_origin_duration_seconds_bucket{origin="web",outcome="other",le="0.1"} 1
pixcdn_origin_duration_seconds_bucket{origin="web",outcome="other",le="1"} 1
pixcdn_origin_duration_seconds_bucket{origin="web",outcome="other",le="+Inf"} 1
pixcdn_origin_duration_seconds_sum{origin="web",outcome="other"} 0
pixcdn_origin_duration_seconds_count{origin="web",outcome="other"} 1
# HELP pixcdn_origin_response_bytes_total Response body bytes read from an origin.
# TYPE pixcdn_origin_response_bytes_total counter
pixcdn_origin_response_bytes_total{origin="s3"} 3000
# HELP pixcdn_coalesced_waiters_total Requests that waited on another request's origin fill instead of contacting the origin.
# TYPE pixcdn_coalesced_waiters_total counter
pixcdn_coalesced_waiters_total{domain="img.example.com"} 2
# HELP pixcdn_purges_total Purge requests applied, by kind and mode (soft or hard).
# TYPE pixcdn_purges_total counter
pixcdn_purges_total{kind="url",mode="hard"} 2
pixcdn_purges_total{kind="url",mode="soft"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestScrapeTimeCollectors(t *testing.T) {
	m, reg := newTest(t, DefaultConfig())
	calls := 0
	m.SetStoreStats(func() StoreStats {
		calls++
		return StoreStats{MemoryBytes: 100, MemoryObjects: 2, DiskBytes: 4096, DiskObjects: 7, Segments: 3,
			MemoryEvictions: 5, DiskEvictions: 1, DiskEvictedObjects: 11, CorruptDropped: 4, WriteErrors: 6}
	})
	m.SetOriginHealth(func() []OriginServerHealth {
		return []OriginServerHealth{
			{Origin: "web", Server: "http://a", Up: true},
			{Origin: "web", Server: "http://b", Up: false, ConsecutiveFailures: 3},
			{Origin: "web", Server: "http://b", Up: true}, // duplicate: skipped, not a failed scrape
		}
	})
	m.SetAccessLogStats(func() AccessLogStats { return AccessLogStats{Dropped: 12, WriteErrors: 1} })
	const want = `
# HELP pixcdn_store_bytes Bytes held by a cache tier (memory: entry weight; disk: segment files).
# TYPE pixcdn_store_bytes gauge
pixcdn_store_bytes{tier="disk"} 4096
pixcdn_store_bytes{tier="memory"} 100
# HELP pixcdn_store_objects Objects held by a cache tier.
# TYPE pixcdn_store_objects gauge
pixcdn_store_objects{tier="disk"} 7
pixcdn_store_objects{tier="memory"} 2
# HELP pixcdn_store_disk_segments Segment files of the disk tier.
# TYPE pixcdn_store_disk_segments gauge
pixcdn_store_disk_segments 3
# HELP pixcdn_store_memory_evictions_total Objects the memory tier evicted for space.
# TYPE pixcdn_store_memory_evictions_total counter
pixcdn_store_memory_evictions_total 5
# HELP pixcdn_store_disk_segment_evictions_total Whole disk segments deleted for space.
# TYPE pixcdn_store_disk_segment_evictions_total counter
pixcdn_store_disk_segment_evictions_total 1
# HELP pixcdn_store_disk_evicted_objects_total Objects removed with evicted disk segments.
# TYPE pixcdn_store_disk_evicted_objects_total counter
pixcdn_store_disk_evicted_objects_total 11
# HELP pixcdn_store_corrupt_records_dropped_total Stored records found corrupt and dropped.
# TYPE pixcdn_store_corrupt_records_dropped_total counter
pixcdn_store_corrupt_records_dropped_total 4
# HELP pixcdn_store_write_errors_total Disk tier writes that failed.
# TYPE pixcdn_store_write_errors_total counter
pixcdn_store_write_errors_total 6
# HELP pixcdn_origin_server_up 1 when an origin server is considered healthy, 0 when down.
# TYPE pixcdn_origin_server_up gauge
pixcdn_origin_server_up{origin="web",server="http://a"} 1
pixcdn_origin_server_up{origin="web",server="http://b"} 0
# HELP pixcdn_origin_server_consecutive_failures Consecutive failed requests to an origin server.
# TYPE pixcdn_origin_server_consecutive_failures gauge
pixcdn_origin_server_consecutive_failures{origin="web",server="http://a"} 0
pixcdn_origin_server_consecutive_failures{origin="web",server="http://b"} 3
# HELP pixcdn_access_log_dropped_lines_total Access log lines dropped because the writer fell behind.
# TYPE pixcdn_access_log_dropped_lines_total counter
pixcdn_access_log_dropped_lines_total 12
# HELP pixcdn_access_log_write_errors_total Failed writes to the access log file.
# TYPE pixcdn_access_log_write_errors_total counter
pixcdn_access_log_write_errors_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("store stats called %d times per scrape, want 1", calls)
	}
	m.SetStoreStats(nil)
	m.SetOriginHealth(nil)
	m.SetAccessLogStats(nil)
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("after unsetting: %d series, err %v; want 0", n, err)
	}
}
