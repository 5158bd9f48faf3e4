package livestats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketEdges(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{9999 * time.Nanosecond, 0},
		{10 * time.Microsecond, 1},
		{12499 * time.Nanosecond, 1},
		{12500 * time.Nanosecond, 2}, // 10 µs octave, steps of 2.5 µs
		{17499 * time.Nanosecond, 3},
		{17500 * time.Nanosecond, 4},
		{19999 * time.Nanosecond, 4},
		{20 * time.Microsecond, 5}, // next octave, steps of 5 µs
		{25 * time.Microsecond, 6},
		{40 * time.Microsecond, 9},
		{time.Millisecond, 1 + 6*4 + 2},  // 1 ms is in [640 µs, 1.28 ms): sub (1000/160)-4 = 2
		{60 * time.Second, nBuckets - 4}, // in [52.4 s, 62.9 s), the second of the top octave
		{time.Duration(4<<octaves)*histStep - 1, nBuckets - 2},
		{time.Duration(4<<octaves) * histStep, nBuckets - 1},
		{time.Hour, nBuckets - 1},
	} {
		if got := bucketOf(tc.d); got != tc.want {
			t.Errorf("bucketOf(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

// TestBucketBounds checks that every bucket's bounds map back to it and that the buckets
// tile the line without gaps, each at most a quarter of its lower bound wide.
func TestBucketBounds(t *testing.T) {
	var prevHi time.Duration
	for i := range nBuckets - 1 {
		lo, hi := bucketBounds(i)
		if lo != prevHi || hi <= lo {
			t.Fatalf("bucket %d: [%v, %v) after %v", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi-1) != i || bucketOf(hi) != i+1 {
			t.Fatalf("bucket %d: [%v, %v) maps to %d, %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi-1), bucketOf(hi))
		}
		if i > 0 && float64(hi-lo) > float64(lo)/4 {
			t.Fatalf("bucket %d: [%v, %v) wider than a quarter", i, lo, hi)
		}
		prevHi = hi
	}
	if lo, hi := bucketBounds(nBuckets - 1); lo != prevHi || hi != lo || lo < 60*time.Second {
		t.Fatalf("last bucket [%v, %v)", lo, hi)
	}
}

// TestPercentile compares the histogram's percentiles with nearest rank over the sorted
// values: the estimate must fall in the bucket of the true value.
func TestPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"one", func() time.Duration { return 3 * time.Millisecond }, 1},
		{"constant", func() time.Duration { return 250 * time.Microsecond }, 100},
		{"log-uniform 1µs-100s", func() time.Duration { return time.Duration(math.Pow(10, 3+rng.Float64()*8)) }, 10000},
		{"bimodal hits and misses", func() time.Duration {
			if rng.IntN(10) < 9 {
				return time.Duration(50_000 + rng.IntN(100_000))
			}
			return time.Duration(20e6 + rng.IntN(200e6))
		}, 5000},
		{"tiny", func() time.Duration { return time.Duration(rng.IntN(10_000)) }, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c counts
			vals := make([]time.Duration, tc.n)
			for i := range vals {
				vals[i] = tc.gen()
				c.hist[bucketOf(vals[i])]++
			}
			slices.Sort(vals)
			for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
				exact := vals[max(int(math.Ceil(q*float64(len(vals)))), 1)-1]
				got := c.percentile(q)
				if bucketOf(got) != bucketOf(exact) {
					lo, hi := bucketBounds(bucketOf(exact))
					t.Errorf("q%.2f = %v, true %v in [%v, %v)", q, got, exact, lo, hi)
				}
			}
		})
	}
	var empty counts
	if p := empty.percentile(0.99); p != 0 {
		t.Errorf("empty: %v", p)
	}
}

func TestRatioAndMillis(t *testing.T) {
	for _, tc := range []struct {
		part, whole uint64
		want        float64
	}{{0, 0, 0}, {1, 3, 0.3333}, {5, 4, 1}, {4, 4, 1}} {
		if got := ratio(tc.part, tc.whole); got != tc.want {
			t.Errorf("ratio(%d, %d) = %v, want %v", tc.part, tc.whole, got, tc.want)
		}
	}
	if got := millis(1234567 * time.Nanosecond); got != 1.235 {
		t.Errorf("millis = %v", got)
	}
}
