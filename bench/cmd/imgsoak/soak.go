package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// Config is one soak run.
type Config struct {
	Base     string        // base URL of the edge, e.g. http://127.0.0.1:8080
	Paths    []string      // request paths with their queries, requested round-robin
	PID      int           // the edge process whose memory is sampled
	Conns    int           // concurrent keep-alive connections
	Duration time.Duration // how long the load runs
	Interval time.Duration // memory sampling interval
	Timeout  time.Duration // per-request timeout
	ProcDir  string        // "/proc" outside tests
}

// DefaultConfig is the soak: 8 connections for 10 minutes, a sample every 10 s.
func DefaultConfig() Config {
	return Config{Conns: 8, Duration: 10 * time.Minute, Interval: 10 * time.Second, Timeout: 30 * time.Second, ProcDir: "/proc"}
}

// Validate rejects a run that could not measure anything.
func (c Config) Validate() error {
	switch {
	case c.Base == "":
		return errors.New("no -url")
	case len(c.Paths) == 0:
		return errors.New("no paths")
	case c.PID <= 0:
		return errors.New("no -pid")
	case c.Conns <= 0 || c.Duration <= 0 || c.Interval <= 0 || c.Timeout <= 0:
		return fmt.Errorf("connections %d, duration %v, interval %v and timeout %v must be positive",
			c.Conns, c.Duration, c.Interval, c.Timeout)
	}
	return nil
}

// Soak runs the load and the sampler. Build it with New.
type Soak struct {
	cfg    Config
	client *http.Client
	next   atomic.Uint64 // index of the next path
	counts counts
	now    func() time.Time
}

// counts are the answers so far; read while the load runs, so atomic.
type counts struct {
	ok, other, errors, bytes atomic.Int64
}

// New checks cfg and makes the HTTP client: one idle connection per worker, so each worker
// keeps its own keep-alive connection as wrk's would.
func New(cfg Config) (*Soak, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("imgsoak: %w", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Conns, DisableCompression: true}
	return &Soak{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}, now: time.Now}, nil
}

// Run loads the edge for the configured duration (or until ctx ends) and returns what it saw.
// A failed memory read ends the run: without it there is nothing to report.
func (s *Soak) Run(ctx context.Context) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Duration)
	defer cancel()
	start := s.now()
	first, err := s.sample(start)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	for range s.cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.worker(ctx)
		}()
	}
	samples, err := s.sampleUntil(ctx, start, first)
	cancel() // a failed sample stops the workers too
	wg.Wait()
	if err != nil {
		return nil, err
	}
	last, err := s.sample(start)
	if err != nil {
		return nil, err
	}
	mem, err := procstat.Read(s.cfg.ProcDir, s.cfg.PID)
	if err != nil {
		return nil, err
	}
	return &Result{Samples: append(samples, last), HWM: mem.HWM, OK: s.counts.ok.Load(),
		Other: s.counts.other.Load(), Errors: s.counts.errors.Load(), Bytes: s.counts.bytes.Load()}, nil
}

// sampleUntil reads the memory every interval until ctx ends.
func (s *Soak) sampleUntil(ctx context.Context, start time.Time, first Sample) ([]Sample, error) {
	samples := []Sample{first}
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return samples, nil
		case <-tick.C:
			sm, err := s.sample(start)
			if err != nil {
				return nil, err
			}
			samples = append(samples, sm)
		}
	}
}

func (s *Soak) sample(start time.Time) (Sample, error) {
	mem, err := procstat.Read(s.cfg.ProcDir, s.cfg.PID)
	if err != nil {
		return Sample{}, err
	}
	return Sample{At: s.now().Sub(start), RSS: mem.RSS, Requests: s.counts.ok.Load() + s.counts.other.Load()}, nil
}

// worker requests the next path until ctx ends. Errors caused by the end of the run itself
// are not counted.
func (s *Soak) worker(ctx context.Context) {
	for ctx.Err() == nil {
		p := s.cfg.Paths[(s.next.Add(1)-1)%uint64(len(s.cfg.Paths))]
		status, n, err := s.get(ctx, p)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			s.counts.errors.Add(1)
		case status == http.StatusOK:
			s.counts.ok.Add(1)
		default:
			s.counts.other.Add(1)
		}
		s.counts.bytes.Add(n)
	}
}

func (s *Soak) get(ctx context.Context, path string) (int, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.Base+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept", "image/avif,image/webp,image/*")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, err
}

// readPaths reads one path a line; blank lines and lines starting with # are skipped.
func readPaths(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("imgsoak: %w", err)
	}
	defer f.Close()
	var paths []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "/") {
			return nil, fmt.Errorf("imgsoak: %s: path %q does not start with /", file, line)
		}
		paths = append(paths, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("imgsoak: %w", err)
	}
	return paths, nil
}
