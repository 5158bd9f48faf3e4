package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one memory measurement: fill the cache with Objects distinct objects, then request
// them in random order for Duration while sampling the server's memory.
type Config struct {
	Target    string        // base URL of the cache under test
	PID       int           // the cache's process id
	Objects   int           // distinct objects: Prefix0 .. Prefix(Objects-1)
	Prefix    string        // e.g. /gen/
	Size      int64         // expected body size; other sizes count as errors
	FillConns int           // concurrency of the first, sequential pass
	Conns     int           // concurrency of the random phase
	Duration  time.Duration // length of the random phase
	Sample    time.Duration // memory sampling interval
	Seed      uint64        // of the random order, so runs are repeatable
	MemTier   int64         // the cache's memory tier size, for the target line
	ProcDir   string        // "/proc"
}

// DefaultConfig is the memory test: 3000 objects of 100 KiB, 60 s.
func DefaultConfig() Config {
	return Config{Objects: 3000, Prefix: "/gen/", Size: 100 << 10, FillConns: 8, Conns: 32,
		Duration: 60 * time.Second, Sample: 250 * time.Millisecond, Seed: 1, MemTier: 64 << 20, ProcDir: "/proc"}
}

// Validate checks the fields a run cannot do without.
func (c Config) Validate() error {
	switch {
	case c.Target == "" || c.PID <= 0:
		return errors.New("rss: need a target URL and a pid")
	case c.Objects < 1 || c.FillConns < 1 || c.Conns < 1:
		return errors.New("rss: objects and connection counts must be positive")
	case c.Duration <= 0 || c.Sample <= 0:
		return errors.New("rss: duration and sample interval must be positive")
	}
	return nil
}

// Load counts what the clients saw in one phase.
type Load struct {
	Requests, Hits, Errors atomic.Int64
	Bytes                  atomic.Int64
	firstErr               atomic.Pointer[error]
}

// FirstErr is the first error seen, or nil.
func (l *Load) FirstErr() error {
	if p := l.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Load) fail(err error) {
	l.Errors.Add(1)
	l.firstErr.CompareAndSwap(nil, &err)
}

// fetcher requests objects and records the outcome in a Load.
type fetcher struct {
	cfg    Config
	client *http.Client
}

func newFetcher(cfg Config) *fetcher {
	tr := &http.Transport{MaxIdleConnsPerHost: max(cfg.Conns, cfg.FillConns), DisableCompression: true}
	return &fetcher{cfg: cfg, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// get fetches object i; a request cut by the end of the phase (ctx) is not an error.
func (f *fetcher) get(ctx context.Context, i int, l *Load) {
	url := fmt.Sprintf("%s%s%d", f.cfg.Target, f.cfg.Prefix, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		l.fail(err)
		return
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.fail(err)
		}
		return
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case err != nil:
		l.fail(fmt.Errorf("%s: body: %w", url, err))
	case resp.StatusCode != http.StatusOK || (f.cfg.Size > 0 && n != f.cfg.Size):
		l.fail(fmt.Errorf("%s: status %d, %d bytes", url, resp.StatusCode, n))
	default:
		l.Requests.Add(1)
		l.Bytes.Add(n)
		if isHit(resp.Header) {
			l.Hits.Add(1)
		}
	}
}

// isHit reads RFC 9211 Cache-Status: a hit has the bare "hit" parameter.
func isHit(h http.Header) bool {
	for _, v := range h.Values("Cache-Status") {
		for _, p := range strings.Split(v, ";") {
			if strings.TrimSpace(p) == "hit" {
				return true
			}
		}
	}
	return false
}

// fill requests every object once, in order.
func (f *fetcher) fill(ctx context.Context) *Load {
	var l Load
	var next atomic.Int64
	var wg sync.WaitGroup
	for range f.cfg.FillConns {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < f.cfg.Objects && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				f.get(ctx, i, &l)
			}
		})
	}
	wg.Wait()
	return &l
}

// random requests uniformly random objects until ctx ends.
func (f *fetcher) random(ctx context.Context) *Load {
	var l Load
	var wg sync.WaitGroup
	for w := range f.cfg.Conns {
		rng := rand.New(rand.NewPCG(f.cfg.Seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				f.get(ctx, rng.IntN(f.cfg.Objects), &l)
			}
		})
	}
	wg.Wait()
	return &l
}
