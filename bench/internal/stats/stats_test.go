package stats

import "testing"

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{7}, 7, true},
		{[]float64{3, 1}, 2, true}, // two rounds: their mean
		{[]float64{5, 1, 3}, 3, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		got, ok := Median(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Median(%v) = %v, %v; want %v, %v", in, got, ok, tt.want, tt.ok)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Errorf("Median modified its input: %v", tt.in)
			}
		}
	}
	if m, _ := Median([]int64{10, 20}); m != 15 {
		t.Errorf("Median of int64s = %v", m)
	}
}

func TestPercentile(t *testing.T) {
	s := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct {
		p    float64
		want int
	}{{0, 1}, {10, 1}, {11, 2}, {50, 5}, {99, 10}, {100, 10}, {150, 10}} {
		if got := Percentile(s, tt.p); got != tt.want {
			t.Errorf("p%v = %d, want %d", tt.p, got, tt.want)
		}
	}
}
