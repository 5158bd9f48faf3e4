package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Cache classes as labelled. Anything else the caller passes is folded into "other" and an
// empty class (a request refused before the cache was consulted) into "none", so that a typo
// in a caller cannot create series.
var cacheLabels = [...]string{"hit", "stale", "miss", "pass", "error", "none", "other"}

const nCache = len(cacheLabels)

func cacheIndex(class string) int {
	switch class {
	case "hit":
		return 0
	case "stale":
		return 1
	case "miss":
		return 2
	case "pass":
		return 3
	case "error":
		return 4
	case "":
		return 5
	}
	return 6
}

var codeLabels = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}

const nCode = len(codeLabels)

func codeIndex(status int) int {
	if status < 100 || status > 599 {
		return nCode - 1
	}
	return status/100 - 1
}

// protoLabels name the HTTP versions by ProtoMajor: http1 (HTTP/1.0 and 1.1), h2, h3.
var protoLabels = [...]string{"http1", "h2", "h3", "other"}

const nProto = len(protoLabels)

func protoIndex(major int) int {
	if major < 1 || major > 3 {
		return nProto - 1
	}
	return major - 1
}

// domainSeries holds one domain's request counts (sharded, see requestStats) and its
// coalesced counter, resolved on first use.
type domainSeries struct {
	name      string
	shards    []*requestCells
	coalesced atomic.Pointer[counterCell]
}

type counterCell struct{ prometheus.Counter }
type observerCell struct{ prometheus.Observer }

func (m *Metrics) newDomainSeries(name string) *domainSeries {
	return &domainSeries{name: name, shards: m.reqStats.newShards()}
}

// labelValues carries up to three label values by value, so that the fast path below neither
// builds a variadic slice nor lets anything escape.
type labelValues struct {
	v [3]string
	n int
}

func labels2(a, b string) labelValues    { return labelValues{[3]string{a, b}, 2} }
func labels3(a, b, c string) labelValues { return labelValues{[3]string{a, b, c}, 3} }

// counter returns the child in cell, resolving it through vec on first use.
func counter(cell *atomic.Pointer[counterCell], vec *prometheus.CounterVec, lv labelValues) prometheus.Counter {
	if c := cell.Load(); c != nil {
		return c.Counter
	}
	return resolveCounter(cell, vec, lv)
}

// resolveCounter is the slow path of counter. Goroutines racing here resolve the same child,
// so whichever store wins is right.
func resolveCounter(cell *atomic.Pointer[counterCell], vec *prometheus.CounterVec, lv labelValues) prometheus.Counter {
	c := &counterCell{vec.WithLabelValues(lv.v[:lv.n]...)}
	cell.Store(c)
	return c.Counter
}

func observer(cell *atomic.Pointer[observerCell], vec *prometheus.HistogramVec, lv labelValues) prometheus.Observer {
	if o := cell.Load(); o != nil {
		return o.Observer
	}
	return resolveObserver(cell, vec, lv)
}

func resolveObserver(cell *atomic.Pointer[observerCell], vec *prometheus.HistogramVec, lv labelValues) prometheus.Observer {
	o := &observerCell{vec.WithLabelValues(lv.v[:lv.n]...)}
	cell.Store(o)
	return o.Observer
}

// Request records one finished request: pixcdn_requests_total, pixcdn_response_bytes_total,
// pixcdn_request_duration_seconds and pixcdn_requests_by_protocol_total. It allocates nothing once the domain has been seen, writes
// only words of its CPU's shard, and does not keep ri.
func (m *Metrics) Request(ri *RequestInfo) {
	d := m.domains.get(ri.Domain)
	m.reqStats.add(d.shards, cacheIndex(ri.CacheStatus), codeIndex(ri.Status), protoIndex(ri.ProtoMajor), ri.BytesSent, ri.Duration)
}

// Coalesced records one request that waited on another's fill (pixcdn_coalesced_waiters_total).
func (m *Metrics) Coalesced(domain string) {
	d := m.domains.get(domain)
	counter(&d.coalesced, m.coalesced, labelValues{[3]string{d.name}, 1}).Inc()
}

// Purge records one applied purge (pixcdn_purges_total{kind,mode}); mode is "soft" or "hard".
// Purges are rare, so the labels are resolved per call.
func (m *Metrics) Purge(kind string, soft bool) {
	mode := "hard"
	if soft {
		mode = "soft"
	}
	m.purges.WithLabelValues(kind, mode).Inc()
}

// RetainDomains forgets every domain not in names, deleting its series, so that a config
// reload that removes a domain also removes it from scrapes. "" (unknown host) is always kept.
// A Request racing with the removal may be counted into a deleted series and lost.
func (m *Metrics) RetainDomains(names []string) {
	keep := make(map[string]bool, len(names)+1)
	keep[""] = true
	for _, n := range names {
		keep[n] = true
	}
	for _, d := range m.domains.remove(func(n string) bool { return keep[n] }) {
		// The request series go with the domain's entry: the collector reads the map.
		m.coalesced.DeletePartialMatch(prometheus.Labels{"domain": d})
	}
}
