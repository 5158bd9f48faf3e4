package metrics

import (
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const namespace = "pixcdn"

// OverflowLabel is the domain or origin label given to names seen after Config.MaxDomains or
// Config.MaxOrigins distinct names: a guard against a caller passing unconfigured names.
const OverflowLabel = "~overflow"

// Config tunes the metrics. The zero value is not valid; start from DefaultConfig.
type Config struct {
	// DurationBuckets are the upper bounds, in seconds, of pixcdn_request_duration_seconds.
	// Few buckets keep every (domain, cache) pair cheap to store and scrape.
	DurationBuckets []float64
	// OriginDurationBuckets are the upper bounds, in seconds, of pixcdn_origin_duration_seconds.
	OriginDurationBuckets []float64
	// MaxDomains and MaxOrigins cap the distinct domain and origin label values; further names
	// are counted under OverflowLabel.
	MaxDomains, MaxOrigins int
}

// DefaultConfig returns buckets from a memory hit (sub-millisecond) to a slow origin fill
// (seconds), and caps far above any sane configuration.
func DefaultConfig() Config {
	return Config{
		DurationBuckets:       []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5},
		OriginDurationBuckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		MaxDomains:            2000,
		MaxOrigins:            2000,
	}
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	for _, b := range []struct {
		name string
		v    []float64
	}{{"DurationBuckets", c.DurationBuckets}, {"OriginDurationBuckets", c.OriginDurationBuckets}} {
		if len(b.v) == 0 {
			return fmt.Errorf("metrics: %s is empty", b.name)
		}
		if !slices.IsSorted(b.v) || len(slices.Compact(slices.Clone(b.v))) != len(b.v) {
			return fmt.Errorf("metrics: %s must be strictly increasing", b.name)
		}
	}
	if c.MaxDomains < 1 || c.MaxOrigins < 1 {
		return errors.New("metrics: MaxDomains and MaxOrigins must be at least 1")
	}
	return nil
}

// Metrics records what the edge does. All methods are safe for concurrent use; Request,
// OriginRequest and Coalesced allocate nothing once a domain or origin has been seen.
type Metrics struct {
	reqStats  *requestStats // requests, response bytes and duration, by domain
	coalesced *prometheus.CounterVec

	originRequests *prometheus.CounterVec
	originDuration *prometheus.HistogramVec
	originBytes    *prometheus.CounterVec

	purges *prometheus.CounterVec

	domains *seriesCache[domainSeries]
	origins *seriesCache[originSeries]
	scrape  *scrapeCollector
}

// New registers every pixcdn metric on reg with DefaultConfig. It panics if reg already holds
// metrics of the same names, like prometheus.MustRegister: that is a wiring bug.
func New(reg prometheus.Registerer) *Metrics {
	m, err := NewWithConfig(reg, DefaultConfig())
	if err != nil {
		panic(err)
	}
	return m
}

// NewRegistry returns a registry holding the Go runtime and process collectors, to pass to New
// when the process serves its own /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// NewWithConfig is New with explicit configuration; it returns registration errors instead of
// panicking.
func NewWithConfig(reg prometheus.Registerer, cfg Config) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newVecs(cfg)
	m.reqStats = newRequestStats(slices.Clone(cfg.DurationBuckets))
	m.domains = newSeriesCache(cfg.MaxDomains, m.newDomainSeries)
	m.origins = newSeriesCache(cfg.MaxOrigins, m.newOriginSeries)
	m.scrape = newScrapeCollector()
	for _, c := range []prometheus.Collector{requestCollector{m}, m.coalesced,
		m.originRequests, m.originDuration, m.originBytes, m.purges, m.scrape} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

func newVecs(cfg Config) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help,
			Buckets: slices.Clone(buckets)}, labels)
	}
	return &Metrics{
		coalesced: counter("coalesced_waiters_total",
			"Requests that waited on another request's origin fill instead of contacting the origin.", "domain"),
		originRequests: counter("origin_requests_total",
			"Requests sent to an origin, by outcome.", "origin", "outcome"),
		originDuration: histogram("origin_duration_seconds",
			"Time waiting on an origin for one request.", cfg.OriginDurationBuckets, "origin", "outcome"),
		originBytes: counter("origin_response_bytes_total",
			"Response body bytes read from an origin.", "origin"),
		purges: counter("purges_total", "Purge requests applied, by kind and mode (soft or hard).", "kind", "mode"),
	}
}
