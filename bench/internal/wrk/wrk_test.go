package wrk

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// A run of `wrk --latency -s bench/wrk/status.lua`, as wrk 4.1.0 prints it.
const statusOutput = `Running 3s test @ http://127.0.0.1:12345/obj/1k
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    2.10ms  41.27ms   91.20%
    Req/Sec    16.71k     2.01k   20.32k    70.00%
  Latency Distribution
     50%  842.00us
     75%    1.45ms
     90%    3.01ms
     99%   10.12ms
  99836 requests in 3.00s, 117.11MB read
  Non-2xx or 3xx responses: 12
Requests/sec:  33245.10
Transfer/sec:     39.00MB
RESULT requests=99836 duration_us=3003046 rps=33245.1 p50_us=842 p99_us=10120 max_us=41270 errors=3 status_errors=12 bytes=122800000 c200=99800 c429=24
`

func TestParseStatusScript(t *testing.T) {
	r, err := Parse([]byte(statusOutput))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 99836 || r.RPS != 33245.1 || r.Errors != 3 || r.StatusErrors != 12 || r.Bytes != 122800000 {
		t.Errorf("counts: %+v", r)
	}
	if r.Duration != 3003046*time.Microsecond || r.P50 != 842*time.Microsecond || r.P99 != 10120*time.Microsecond || r.Max != 41270*time.Microsecond {
		t.Errorf("latencies: p50 %v p99 %v max %v duration %v", r.P50, r.P99, r.Max, r.Duration)
	}
	if n, ok := r.Int("c429"); !ok || n != 24 {
		t.Errorf("c429 = %d, %v", n, ok)
	}
	if _, ok := r.Int("c503"); ok {
		t.Error("c503 is not in status.lua's line")
	}
	want := map[float64]time.Duration{50: 842 * time.Microsecond, 75: 1450 * time.Microsecond, 90: 3010 * time.Microsecond, 99: 10120 * time.Microsecond}
	if len(r.Distribution) != len(want) {
		t.Fatalf("distribution %v, want %v", r.Distribution, want)
	}
	for p, d := range want {
		if r.Distribution[p] != d {
			t.Errorf("%v%%: %v, want %v", p, r.Distribution[p], d)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, out string
		noResult  bool
	}{
		{"no script", "Running 1s test @ http://x/\nRequests/sec: 10\n", true},
		{"wrk failed", "unable to connect to 127.0.0.1:1 Connection refused\n", true},
		{"missing field", "RESULT requests=1 duration_us=1 rps=1 p50_us=1 p99_us=1 max_us=1 errors=0 bytes=1\n", false},
		{"not key=value", "RESULT requests=1 oops\n", false},
		{"bad rps", "RESULT requests=1 duration_us=1 rps=x p50_us=1 p99_us=1 max_us=1 errors=0 status_errors=0 bytes=1\n", false},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.out))
		if err == nil || errors.Is(err, ErrNoResult) != tt.noResult {
			t.Errorf("%s: error %v (want no-result %v)", tt.name, err, tt.noResult)
		}
	}
}

func TestParseKeepsLastResultAndLongLatencies(t *testing.T) {
	out := "  Latency Distribution\n     50%    1.20s\n     99%    1.00m\n  10 requests in 2.00m\n" +
		"RESULT requests=1 duration_us=1 rps=1 p50_us=1 p99_us=1 max_us=1 errors=0 status_errors=0 bytes=1\n" +
		"RESULT requests=2 duration_us=1 rps=2 p50_us=1 p99_us=1 max_us=1 errors=0 status_errors=0 bytes=1\n"
	r, err := Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 2 {
		t.Errorf("requests %d, want the last line's 2", r.Requests)
	}
	if r.Distribution[50] != 1200*time.Millisecond || r.Distribution[99] != time.Minute {
		t.Errorf("distribution %v", r.Distribution)
	}
}

func TestArgs(t *testing.T) {
	o := Options{Threads: 2, Conns: 8, Duration: 2500 * time.Millisecond, Timeout: 30 * time.Second, Latency: true,
		Script: "bench/wrk/bust.lua", Headers: []string{"Accept-Encoding: br", "X-Client: bad"}, URL: "http://127.0.0.1:1/x?w=1"}
	want := []string{"-t2", "-c8", "-d3s", "--timeout", "30s", "--latency", "-H", "Accept-Encoding: br", "-H", "X-Client: bad",
		"-s", "bench/wrk/bust.lua", "http://127.0.0.1:1/x?w=1"}
	if got := o.Args(); !slices.Equal(got, want) {
		t.Errorf("Args\n got %q\nwant %q", got, want)
	}
	if got := (Options{Duration: 100 * time.Millisecond, URL: "u"}).Args(); !slices.Equal(got, []string{"-t1", "-c1", "-d1s", "u"}) {
		t.Errorf("zero options: %q", got)
	}
}
