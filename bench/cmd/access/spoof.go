package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// spoofConfig is the spoofed-key flood: N requests, request i carrying Header: k<seed>-<i>, Conc
// at a time, while the edge (PID, Metrics) is sampled every Every.
type spoofConfig struct {
	URL, Header, Metrics string
	N, Conc, PID         int
	Seed                 int64
	Every                time.Duration
}

// sample is one reading of the edge's memory.
type sample struct{ rss, heap int64 }

// readSample reads VmRSS from /proc and go_memstats_heap_inuse_bytes from /metrics.
func readSample(hc *http.Client, pid int, metrics string) (sample, error) {
	var s sample
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status: %w", err)
	}
	for line := range strings.Lines(string(st)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			s.rss = kb * 1024
		}
	}
	resp, err := hc.Get(metrics)
	if err != nil {
		return s, fmt.Errorf("get metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	s.heap = -1
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "go_memstats_heap_inuse_bytes" {
			v, _ := strconv.ParseFloat(f[1], 64)
			s.heap = int64(v)
		}
	}
	if s.heap < 0 {
		return s, fmt.Errorf("no go_memstats_heap_inuse_bytes in %s", metrics)
	}
	return s, sc.Err()
}

// runSpoof samples before, floods while sampling (keeping the peaks), then samples after a
// 2 s pause, and reports every reading in bytes.
func runSpoof(out io.Writer, c spoofConfig) error {
	if c.URL == "" || c.PID == 0 || c.Metrics == "" || c.Conc < 1 {
		return fmt.Errorf("spoof: need -url, -pid, -metrics, -c >= 1")
	}
	mc := &http.Client{Timeout: 5 * time.Second}
	before, err := readSample(mc, c.PID, c.Metrics)
	if err != nil {
		return err
	}
	var peak sample
	stop := make(chan struct{})
	sampled := make(chan error, 1)
	go func() { sampled <- samplePeaks(mc, c, &peak, stop) }()
	start := time.Now()
	var t tally
	flood(c, &t)
	el := time.Since(start)
	close(stop)
	if err := <-sampled; err != nil {
		return err
	}
	end, err := readSample(mc, c.PID, c.Metrics)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the edge settle before the "after" reading
	after, err := readSample(mc, c.PID, c.Metrics)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "RESULT requests=%d seconds=%.1f rps=%.0f ok=%d r429=%d r403=%d other=%d errors=%d rss_before=%d rss_peak=%d rss_end=%d rss_after=%d heap_before=%d heap_peak=%d heap_end=%d heap_after=%d\n",
		c.N, el.Seconds(), float64(c.N)/el.Seconds(), t.ok, t.r429, t.r403, t.other, t.errors,
		before.rss, peak.rss, end.rss, after.rss, before.heap, peak.heap, end.heap, after.heap)
	return err
}

func samplePeaks(mc *http.Client, c spoofConfig, peak *sample, stop <-chan struct{}) error {
	tick := time.NewTicker(c.Every)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		s, err := readSample(mc, c.PID, c.Metrics)
		if err != nil {
			return err
		}
		peak.rss, peak.heap = max(peak.rss, s.rss), max(peak.heap, s.heap)
	}
}

// flood sends the N requests from Conc workers sharing one counter.
func flood(c spoofConfig, t *tally) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: c.Conc, MaxIdleConnsPerHost: c.Conc, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range c.Conc {
		wg.Go(func() {
			var mine tally
			for i := next.Add(1) - 1; i < int64(c.N); i = next.Add(1) - 1 {
				code, err := get(hc, c.URL, c.Header, fmt.Sprintf("k%d-%d", c.Seed, i))
				if err != nil {
					mine.errors++
					continue
				}
				mine.count(code)
			}
			mu.Lock()
			t.add(&mine)
			mu.Unlock()
		})
	}
	wg.Wait()
}
