// Package latency summarises samples of request latency the way the benchmark reports show
// them: nearest-rank percentiles over the whole sample, no interpolation, no histogram buckets.
package latency

import (
	"math"
	"slices"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/stats"
)

// Summary is the spread of one set of samples.
type Summary struct {
	N                  int
	Min, P50, P99, Max time.Duration
}

// Summarize sorts a copy of samples and reads its percentiles. An empty sample gives a zero
// Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	return Summary{N: len(s), Min: s[0], P50: Percentile(s, 50), P99: Percentile(s, 99), Max: s[len(s)-1]}
}

// Percentile is the nearest-rank p-th percentile of sorted (the smallest sample with at least
// p % of the samples at or below it). sorted must be sorted ascending and non-empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	return stats.Percentile(sorted, p)
}

// Ms writes d in milliseconds with one decimal, the unit of every report table.
func Ms(d time.Duration) float64 { return math.Round(float64(d)/1e5) / 10 }
