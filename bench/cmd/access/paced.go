package main

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
)

// pacedConfig is the well-behaved client: Rate requests per second spread over Conns
// keep-alive connections, each request carrying Header: Value.
type pacedConfig struct {
	URL, Header, Value string
	Rate               float64
	Conns              int
	Duration           time.Duration
}

// tally is what one connection saw.
type tally struct {
	service, sched        []time.Duration // from send, and from the scheduled send time
	ok, r429, r403, other int
	errors                int
}

func (t *tally) add(o *tally) {
	t.service = append(t.service, o.service...)
	t.sched = append(t.sched, o.sched...)
	t.ok, t.r429, t.r403 = t.ok+o.ok, t.r429+o.r429, t.r403+o.r403
	t.other, t.errors = t.other+o.other, t.errors+o.errors
}

// runPaced sends on a fixed schedule (open loop per connection: a slow answer makes the next
// requests late, and the latency from the scheduled time shows it) and reports both latencies.
func runPaced(out io.Writer, c pacedConfig) error {
	if c.URL == "" || c.Rate <= 0 || c.Conns < 1 {
		return fmt.Errorf("paced: need -url, -rate > 0, -c >= 1")
	}
	gap := time.Duration(float64(c.Conns) / c.Rate * float64(time.Second))
	start := time.Now()
	var mu sync.Mutex
	var all tally
	var wg sync.WaitGroup
	for i := range c.Conns {
		wg.Go(func() {
			t := pacedConn(c, start.Add(gap*time.Duration(i)/time.Duration(c.Conns)), gap)
			mu.Lock()
			all.add(&t)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	s, d := latency.Summarize(all.service), latency.Summarize(all.sched)
	_, err := fmt.Fprintf(out, "RESULT requests=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d sched_p50_us=%d sched_p99_us=%d ok=%d r429=%d r403=%d other=%d errors=%d\n",
		s.N, float64(s.N)/el.Seconds(), s.P50.Microseconds(), s.P99.Microseconds(), s.Max.Microseconds(),
		d.P50.Microseconds(), d.P99.Microseconds(), all.ok, all.r429, all.r403, all.other, all.errors)
	return err
}

// pacedConn is one connection's loop: request i is due at first + i*gap.
func pacedConn(c pacedConfig, first time.Time, gap time.Duration) tally {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	var t tally
	end := first.Add(c.Duration)
	for due := first; due.Before(end); due = due.Add(gap) {
		if w := time.Until(due); w > 0 {
			time.Sleep(w) // pacing the load generator, not synchronising a test
		}
		sent := time.Now()
		code, err := get(hc, c.URL, c.Header, c.Value)
		done := time.Now()
		if err != nil {
			t.errors++
			continue
		}
		t.service = append(t.service, done.Sub(sent))
		t.sched = append(t.sched, done.Sub(due))
		t.count(code)
	}
	return t
}

func (t *tally) count(code int) {
	switch {
	case code >= 200 && code < 300:
		t.ok++
	case code == http.StatusTooManyRequests:
		t.r429++
	case code == http.StatusForbidden:
		t.r403++
	default:
		t.other++
	}
}

// get requests url with one extra header, reads the whole body and returns the status.
func get(hc *http.Client, url, header, value string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("request %s: %w", url, err)
	}
	if header != "" {
		req.Header.Set(header, value)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("read %s: %w", url, err)
	}
	return resp.StatusCode, nil
}
