package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// measure is one load of one server with one workload.
type measure struct {
	images     int64 // 200 answers of the right type
	failures   int64 // anything else (status, type, transport)
	lastFail   string
	bytes      int64 // of the images
	elapsed    time.Duration
	cpu        time.Duration // of the server process
	otherPct   float64       // CPU other processes used meanwhile, % of the machine
	loadBefore string
	loadAfter  string
}

func (m measure) perSecond() float64 { return float64(m.images) / m.elapsed.Seconds() }

func (m measure) cpuPerImage() float64 {
	if m.images == 0 {
		return 0
	}
	return float64(m.cpu.Microseconds()) / 1000 / float64(m.images)
}

func (m measure) meanBytes() float64 {
	if m.images == 0 {
		return 0
	}
	return float64(m.bytes) / float64(m.images)
}

// urlSeq numbers every URL of the run, so that no two requests are the same.
var urlSeq atomic.Int64

// load runs conns clients, each asking s for c with a new URL as soon as its last answer is
// read, for d (a request still running at the end is abandoned and not counted). The server's
// CPU is read before the first and after the last counted request.
func load(c workload, s *server, conns int, d time.Duration) (measure, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var m measure
	var mu sync.Mutex
	m.loadBefore = procstat.LoadAvg()
	pid := s.proc.Pid()
	cpu0, busy0, self0, start := procstat.CPU(pid), procstat.MachineBusy(), procstat.SelfCPU(), time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				n, err := fetch(ctx, client, s.url(c, urlSeq.Add(1)), contentTypes[c.format])
				if ctx.Err() != nil {
					return // cut by the end of the load: not counted
				}
				mu.Lock()
				if err != nil {
					m.failures++
					m.lastFail = err.Error()
				} else {
					m.images++
					m.bytes += n
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.elapsed = time.Since(start)
	m.cpu = procstat.CPU(pid) - cpu0
	other := procstat.MachineBusy() - busy0 - m.cpu - (procstat.SelfCPU() - self0)
	m.otherPct = max(0, 100*float64(other)/float64(m.elapsed*time.Duration(runtime.NumCPU())))
	m.loadAfter = procstat.LoadAvg()
	if s.proc.Exited() {
		return m, fmt.Errorf("the server exited during the load")
	}
	if m.images == 0 {
		return m, fmt.Errorf("no image answered (last failure: %s)", m.lastFail)
	}
	return m, nil
}

// fetch GETs url and returns the body's length when the answer is 200 of type want.
func fetch(ctx context.Context, client *http.Client, url, want string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want {
		return 0, fmt.Errorf("%s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return n, nil
}

// get is one checked request: the body of a 200 of type want.
func get(url, want string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != want {
		return nil, fmt.Errorf("%s: %d %s: %.200s", url, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return b, nil
}

func loadAvgNow() string { return procstat.LoadAvg() }
