// Package stats holds the little arithmetic of the benchmark reports: the median of a few
// rounds (the mean of the two middle values for an even count, as the reports have always
// said) and nearest-rank percentiles of a sample.
package stats

import (
	"cmp"
	"math"
	"slices"
)

// Number is what Median reads.
type Number interface {
	~int | ~int64 | ~float64
}

// Median is the median of xs (not modified): the middle value, or the mean of the two middle
// ones for an even count; ok is false for an empty xs.
func Median[T Number](xs []T) (m float64, ok bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2]), true
	}
	return (float64(s[n/2-1]) + float64(s[n/2])) / 2, true
}

// Percentile is the nearest-rank p-th percentile of sorted (the smallest value with at least
// p % of the values at or below it). sorted must be ascending and non-empty.
func Percentile[T cmp.Ordered](sorted []T, p float64) T {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
