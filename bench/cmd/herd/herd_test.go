package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeOrigin counts /slow/ requests per path and answers /__count like benchorigin.
type fakeOrigin struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *fakeOrigin) hit(path string) {
	o.mu.Lock()
	o.counts[path]++
	o.mu.Unlock()
}

func (o *fakeOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/__count" {
		o.mu.Lock()
		defer o.mu.Unlock()
		fmt.Fprintln(w, o.counts[r.URL.Query().Get("path")])
		return
	}
	w.Write([]byte("ok"))
}

// cache builds a front server: with coalesce, concurrent requests for one path share one
// origin request, whose leader waits until every client has joined it so the test is exact
// (joining happens under the mutex, so no client can arrive after the leader finished).
func cache(o *fakeOrigin, clients int32, coalesce bool) http.Handler {
	type call struct {
		done chan struct{}
		n    int32
	}
	var (
		mu    sync.Mutex
		calls = map[string]*call{}
		all   = make(chan struct{})
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/slow/") {
			w.Write([]byte("warm"))
			return
		}
		if !coalesce {
			o.hit(r.URL.Path)
			w.Header().Set("Cache-Status", "fake; fwd=uri-miss; ttl=10")
			w.Write([]byte("body"))
			return
		}
		mu.Lock()
		c, shared := calls[r.URL.Path]
		if !shared {
			c = &call{done: make(chan struct{})}
			calls[r.URL.Path] = c
		}
		c.n++
		if c.n == clients {
			close(all)
		}
		mu.Unlock()
		if shared {
			<-c.done
		} else {
			<-all
			o.hit(r.URL.Path)
			mu.Lock()
			delete(calls, r.URL.Path)
			shared = c.n > 1 // as singleflight says: the result went to more than one caller
			mu.Unlock()
			close(c.done)
		}
		w.Header().Set("Cache-Status", fmt.Sprintf("fake; shared=%v; ttl=5", shared))
		w.Write([]byte("body"))
	})
}

func setup(t *testing.T, clients int, coalesce bool) Config {
	t.Helper()
	o := &fakeOrigin{counts: map[string]int{}}
	osrv := httptest.NewServer(o)
	t.Cleanup(osrv.Close)
	csrv := httptest.NewServer(cache(o, int32(clients), coalesce))
	t.Cleanup(csrv.Close)
	cfg := DefaultConfig()
	cfg.Target, cfg.Origin, cfg.Clients, cfg.Rounds, cfg.Timeout = csrv.URL, osrv.URL, clients, 1, 10*time.Second
	return cfg
}

func TestRoundCountsOriginRequests(t *testing.T) {
	const clients = 20
	tests := []struct {
		name     string
		coalesce bool
		want     int64
	}{
		{"no coalescing", false, clients},
		{"coalescing", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := setup(t, clients, tt.coalesce)
			res, err := Round(context.Background(), cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.OriginRequests != tt.want {
				t.Errorf("origin requests %d, want %d", res.OriginRequests, tt.want)
			}
			if res.Errors != 0 || res.Statuses[200] != clients || res.Latency.N != clients {
				t.Errorf("errors %d (%v), statuses %v, samples %d", res.Errors, res.FirstErr, res.Statuses, res.Latency.N)
			}
			if res.Latency.P50 <= 0 || res.Latency.P99 < res.Latency.P50 || res.Latency.Max < res.Latency.P99 {
				t.Errorf("latency summary out of order: %+v", res.Latency)
			}
		})
	}
}

func TestRoundWithCoalescingReportsSharedStatus(t *testing.T) {
	cfg := setup(t, 10, true)
	res, err := Round(context.Background(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.CacheStatus["fake; shared=true"]; got != 10 {
		t.Errorf("cache status %v, want 10 shared (ttl dropped)", res.CacheStatus)
	}
}

func TestRoundCountsUnreachableTargetAsErrors(t *testing.T) {
	cfg := setup(t, 5, false)
	dead := httptest.NewServer(http.NotFoundHandler())
	cfg.Target = dead.URL
	dead.Close()
	res, err := Round(context.Background(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 5 || res.FirstErr == nil || !strings.Contains(res.FirstErr.Error(), "warm-up") {
		t.Errorf("errors %d, first %v; want 5 warm-up errors", res.Errors, res.FirstErr)
	}
}

func TestCacheStatus(t *testing.T) {
	tests := []struct {
		hdr  http.Header
		want string
	}{
		{http.Header{"Cache-Status": {"pixcdn; hit; ttl=3599"}}, "pixcdn; hit"},
		{http.Header{"Cache-Status": {"pixcdn; fwd=uri-miss; fwd-status=200; stored; ttl=3600"}}, "pixcdn; fwd=uri-miss; fwd-status=200; stored"},
		{http.Header{"X-Cache-Status": {"HIT"}}, "x-cache-status=HIT"},
		{http.Header{}, "none"},
	}
	for _, tt := range tests {
		if got := cacheStatus(tt.hdr); got != tt.want {
			t.Errorf("cacheStatus(%v) = %q, want %q", tt.hdr, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.Target, good.Origin = "http://a", "http://b"
	bad := []func(*Config){
		func(c *Config) { c.Target = "" },
		func(c *Config) { c.Clients = 0 },
		func(c *Config) { c.Rounds = 0 },
		func(c *Config) { c.Prefix = "slow" },
		func(c *Config) { c.Timeout = 0 },
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, f := range bad {
		c := good
		f(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: no error for %+v", i, c)
		}
	}
}

func TestVerdict(t *testing.T) {
	r := func(origin int64, p50 time.Duration, errs int) Result {
		res := Result{OriginRequests: origin, Errors: errs}
		res.Latency.P50 = p50
		return res
	}
	want := Target{OriginRequests: 1, Median: 215 * time.Millisecond}
	tests := []struct {
		name string
		rs   []Result
		has  []string
	}{
		{"all met", []Result{r(1, 201*time.Millisecond, 0), r(1, 230*time.Millisecond, 0), r(1, 203*time.Millisecond, 0)},
			[]string{"1, 1, 1 (target 1 each, no errors): **met**", "203.0 ms (target ≤ 215 ms): **met**"}},
		{"two origin requests", []Result{r(1, 201*time.Millisecond, 0), r(2, 201*time.Millisecond, 0)},
			[]string{"1, 2 (target 1 each, no errors): **NOT met**"}},
		{"errors", []Result{r(1, 201*time.Millisecond, 3)}, []string{"no errors): **NOT met**"}},
		{"slow", []Result{r(1, 501*time.Millisecond, 0)}, []string{"501.0 ms (target ≤ 215 ms): **NOT met**"}},
	}
	for _, tt := range tests {
		got := want.Verdict("x", tt.rs)
		for _, h := range tt.has {
			if !strings.Contains(got, h) {
				t.Errorf("%s: %q lacks %q", tt.name, got, h)
			}
		}
	}
}
