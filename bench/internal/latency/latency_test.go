package latency

import (
	"testing"
	"time"
)

func ms(n ...int) []time.Duration {
	d := make([]time.Duration, len(n))
	for i, v := range n {
		d[i] = time.Duration(v) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	two00 := make([]time.Duration, 200)
	for i := range two00 {
		two00[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"one sample", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower middle", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p99 of 200 is the 198th", two00, 99, 198 * time.Millisecond},
		{"p100 is max", two00, 100, 200 * time.Millisecond},
		{"p0 is min", two00, 0, time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := ms(30, 10, 20)
	s := Summarize(in)
	want := Summary{N: 3, Min: 10 * time.Millisecond, P50: 20 * time.Millisecond, P99: 30 * time.Millisecond, Max: 30 * time.Millisecond}
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if in[0] != 30*time.Millisecond {
		t.Error("input was sorted in place")
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("empty sample: non-zero summary")
	}
}

func TestMs(t *testing.T) {
	if got := Ms(215*time.Millisecond + 449*time.Microsecond); got != 215.4 {
		t.Errorf("Ms = %v, want 215.4", got)
	}
}
