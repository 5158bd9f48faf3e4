package livestats

// Sample is what one node publishes once a second: its counts for the interval that ended at
// Time, in total and by domain. It is the wire message (JSON); zero fields are left out to keep
// it small, and a domain that served nothing in the interval is not listed.
type Sample struct {
	Node     string                 `json:"node"`
	POP      string                 `json:"pop,omitempty"`
	Time     int64                  `json:"time"`     // Unix seconds at the end of the interval
	Interval float64                `json:"interval"` // seconds the counts cover (about 1)
	Totals   Totals                 `json:"totals"`
	Domains  map[string]DomainStats `json:"domains,omitempty"`  // by configured name; "" is unknown hosts
	TopURLs  []URLCount             `json:"top_urls,omitempty"` // the most asked URLs, estimated from a sample
}

// Counters are the counts of an interval and what is derived from them. Errors are answers
// with a 5xx status; OriginErrors are origin exchanges that failed or answered 5xx (a client's
// broken request body is not one). Percentiles are of the time from request start to the last
// body byte, in milliseconds.
type Counters struct {
	Requests        uint64  `json:"requests,omitempty"`
	Bytes           uint64  `json:"bytes,omitempty"` // body bytes sent
	Hits            uint64  `json:"hits,omitempty"`  // cache class "hit" or "stale"
	HitBytes        uint64  `json:"hit_bytes,omitempty"`
	Errors          uint64  `json:"errors,omitempty"`
	OriginRequests  uint64  `json:"origin_requests,omitempty"`
	OriginErrors    uint64  `json:"origin_errors,omitempty"`
	RequestHitRatio float64 `json:"request_hit_ratio,omitempty"`
	ByteHitRatio    float64 `json:"byte_hit_ratio,omitempty"`
	P50             float64 `json:"p50_ms,omitempty"`
	P90             float64 `json:"p90_ms,omitempty"`
	P99             float64 `json:"p99_ms,omitempty"`
}

// Totals are a node's counters over all its domains, and what the process used: CPU in
// percent of one core over the interval, resident memory and live Go heap in bytes.
type Totals struct {
	Counters
	CPUPercent float64 `json:"cpu_percent,omitempty"`
	RSSBytes   uint64  `json:"rss_bytes,omitempty"`
	HeapBytes  uint64  `json:"heap_bytes,omitempty"`
}

// DomainStats are one domain's counters on one node, with the latency histogram they were
// computed from, so that the control side can merge a domain's latencies across nodes
// (percentiles cannot be averaged).
type DomainStats struct {
	Counters
	Hist Hist `json:"hist,omitempty"`
}

// Hist is a sparse latency histogram: pairs of bucket index and count, by increasing index.
// The buckets are log-linear, four to each power of two from 10 µs (see bucketOf).
type Hist [][2]uint64
