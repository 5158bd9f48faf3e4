package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

// Config is one herd measurement: Rounds times, Clients clients ask Target for one fresh cold
// object at the same instant, and Origin's counter says how many requests got through.
type Config struct {
	Target   string        // base URL of the cache under test, e.g. http://127.0.0.1:8081
	Origin   string        // base URL of benchorigin, for /__count
	Clients  int           // concurrent clients, each with its own connection
	Rounds   int           // repetitions, each with a fresh key
	Prefix   string        // path prefix the origin answers slowly, e.g. /slow/
	Tag      string        // names the server in keys and reports
	WarmPath string        // a path each client requests first to open its connection
	Timeout  time.Duration // per request
}

// DefaultConfig is the herd: 200 clients, 5 rounds.
func DefaultConfig() Config {
	return Config{Clients: 200, Rounds: 5, Prefix: "/slow/", Tag: "cache", WarmPath: "/obj/1k", Timeout: 30 * time.Second}
}

// Validate checks the fields a run cannot do without.
func (c Config) Validate() error {
	switch {
	case c.Target == "" || c.Origin == "":
		return errors.New("herd: need a target and an origin URL")
	case c.Clients < 1 || c.Rounds < 1:
		return fmt.Errorf("herd: clients %d and rounds %d must be positive", c.Clients, c.Rounds)
	case !strings.HasPrefix(c.Prefix, "/") || !strings.HasPrefix(c.WarmPath, "/"):
		return errors.New("herd: prefix and warm path must start with /")
	case c.Timeout <= 0:
		return errors.New("herd: timeout must be positive")
	}
	return nil
}

// Result is one round.
type Result struct {
	Round          int
	Path           string
	OriginRequests int64
	Latency        latency.Summary // of the requests that got a response
	Statuses       map[int]int
	CacheStatus    map[string]int // Cache-Status (or X-Cache-Status) values without ttl
	Errors         int
	FirstErr       error
}

// sample is what one client saw.
type sample struct {
	took        time.Duration
	status      int
	cacheStatus string
	err         error
}

// Round runs round number n: every client opens its connection, waits at the barrier, and all
// are released together by closing one channel.
func Round(ctx context.Context, cfg Config, n int) (Result, error) {
	path := fmt.Sprintf("%s%s-%d-%d", cfg.Prefix, cfg.Tag, time.Now().UnixNano(), n)
	samples := make([]sample, cfg.Clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(cfg.Clients)
	done.Add(cfg.Clients)
	for i := range cfg.Clients {
		go func() {
			defer done.Done()
			c := newClient(cfg.Timeout)
			defer c.CloseIdleConnections()
			_, _, warmErr := fetch(ctx, c, cfg.Target+cfg.WarmPath)
			ready.Done()
			<-start
			if warmErr != nil {
				samples[i] = sample{err: fmt.Errorf("warm-up: %w", warmErr)}
				return
			}
			t0 := time.Now()
			status, cs, err := fetch(ctx, c, cfg.Target+path)
			samples[i] = sample{took: time.Since(t0), status: status, cacheStatus: cs, err: err}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	res := summarize(samples)
	res.Round, res.Path = n, path
	count, err := originCount(ctx, cfg.Origin, path)
	res.OriginRequests = count
	return res, err
}

func summarize(samples []sample) Result {
	res := Result{Statuses: map[int]int{}, CacheStatus: map[string]int{}}
	var took []time.Duration
	for _, s := range samples {
		if s.err != nil {
			res.Errors++
			if res.FirstErr == nil {
				res.FirstErr = s.err
			}
			continue
		}
		took = append(took, s.took)
		res.Statuses[s.status]++
		res.CacheStatus[s.cacheStatus]++
	}
	res.Latency = latency.Summarize(took)
	return res
}

// newClient is one client with one connection of its own, so no request waits for another's
// connection and connection set-up stays out of the measured time.
func newClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, ForceAttemptHTTP2: false}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// fetch reads a whole response and returns its status and cache status.
func fetch(ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return resp.StatusCode, "", fmt.Errorf("reading body: %w", err)
	}
	return resp.StatusCode, cacheStatus(resp.Header), nil
}

var ttlParam = regexp.MustCompile(`;\s*ttl=-?\d+`)

// cacheStatus is the response's Cache-Status (pixcdn) or X-Cache-Status (the nginx
// configuration of run.sh), with the ttl dropped so equal outcomes group together.
func cacheStatus(h http.Header) string {
	if v := h.Get("Cache-Status"); v != "" {
		return ttlParam.ReplaceAllString(v, "")
	}
	if v := h.Get("X-Cache-Status"); v != "" {
		return "x-cache-status=" + v
	}
	return "none"
}

// originCount asks benchorigin how many requests reached it for path.
func originCount(ctx context.Context, origin, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+"/__count?path="+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("origin count: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("origin count: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("origin count: %q: %w", b, err)
	}
	return n, nil
}
