package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/pixcdn/pixcdn/bench/internal/latency"
	"github.com/pixcdn/pixcdn/bench/internal/procstat"
)

// proto is the HTTP version a load speaks.
type proto int

const (
	h2 proto = 2
	h3 proto = 3
)

func (p proto) String() string { return "h" + strconv.Itoa(int(p)) }

// result is one load: one protocol, one object size.
type result struct {
	proto              proto
	size, round        int
	requests, failures int64
	rps                float64
	lat                latency.Summary
	edgeCPU, clientCPU time.Duration // per request
	otherPct           float64       // of the machine's capacity, used by neither the edge nor this process
	udpPerReq          float64       // UDP sends per request, both directions (the clients run here); a GSO batch counts once
	udpDrops           int64         // datagrams dropped for full socket buffers, machine-wide
	load               string        // load average after
}

// transports are -conns round trippers of protocol p, each with one connection to the edge.
func (e *edgeRun) transports(p proto) []http.RoundTripper {
	rts := make([]http.RoundTripper, *conns)
	for i := range rts {
		if p == h3 {
			addr := e.http3
			rts[i] = &http3.Transport{TLSClientConfig: e.tlsConfig(),
				Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
					return quic.DialAddrEarly(ctx, addr, tc, qc)
				}}
			continue
		}
		addr := e.https
		rts[i] = &http.Transport{TLSClientConfig: e.tlsConfig(), ForceAttemptHTTP2: true, MaxConnsPerHost: 1,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
	}
	return rts
}

func closeTransports(rts []http.RoundTripper) {
	for _, rt := range rts {
		switch t := rt.(type) {
		case *http3.Transport:
			t.Close()
		case *http.Transport:
			t.CloseIdleConnections()
		}
	}
}

// measure warms the connections and the cache, then loads the edge with -c clients for -d.
func measure(e *edgeRun, p proto, size int) (result, error) {
	rts := e.transports(p)
	defer closeTransports(rts)
	url := "https://" + domain + "/" + strconv.Itoa(size) + ".bin"
	for _, rt := range rts { // opens every connection; the first request of a size fills the cache
		if _, err := get(rt, p, url, size); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	if cs, err := get(rts[0], p, url, size); err != nil || !strings.Contains(cs, "; hit") {
		return result{}, fmt.Errorf("after warm-up: Cache-Status %q (%v), want a hit", cs, err)
	}
	runtime.GC() // the last load's garbage is not this one's
	udp0 := readUDP()
	edge0, self0, busy0, t0 := procstat.CPU(e.p.Pid()), procstat.SelfCPU(), procstat.MachineBusy(), time.Now()
	samples, failures := loadFor(rts, p, url, size, *duration)
	elapsed := time.Since(t0)
	edge, self := procstat.CPU(e.p.Pid())-edge0, procstat.SelfCPU()-self0
	other := procstat.MachineBusy() - busy0 - edge - self
	r := result{proto: p, size: size, requests: int64(len(samples)), failures: failures, lat: latency.Summarize(samples),
		otherPct: max(0, 100*float64(other)/float64(elapsed*time.Duration(numCPU()))), load: procstat.LoadAvg()}
	r.rps = float64(r.requests) / elapsed.Seconds()
	udp := readUDP()
	r.udpDrops = udp.drops - udp0.drops
	if r.requests > 0 {
		r.edgeCPU, r.clientCPU = edge/time.Duration(r.requests), self/time.Duration(r.requests)
		r.udpPerReq = float64(udp.out-udp0.out) / float64(r.requests)
	}
	if failures > r.requests/100 {
		return r, fmt.Errorf("%d of %d requests failed", failures, r.requests+failures)
	}
	return r, nil
}

// loadFor runs -c closed-loop clients over rts (client i on rts[i % len]) until d has passed,
// and returns the latency of every successful request and the count of failed ones.
func loadFor(rts []http.RoundTripper, p proto, url string, size int, d time.Duration) ([]time.Duration, int64) {
	deadline := time.Now().Add(d)
	per := make([][]time.Duration, *conc)
	fails := make([]int64, *conc)
	var wg sync.WaitGroup
	for i := range *conc {
		wg.Go(func() {
			rt := rts[i%len(rts)]
			s := make([]time.Duration, 0, 1<<14)
			for {
				start := time.Now()
				if start.After(deadline) {
					break
				}
				if _, err := get(rt, p, url, size); err != nil {
					fails[i]++
					continue
				}
				s = append(s, time.Since(start))
			}
			per[i] = s
		})
	}
	wg.Wait()
	var all []time.Duration
	var failed int64
	for i := range per {
		all = append(all, per[i]...)
		failed += fails[i]
	}
	return all, failed
}

// get sends one GET and reads the body; it fails unless the answer is a 200 of size bytes over
// protocol p. It returns the Cache-Status.
func get(rt http.RoundTripper, p proto, url string, size int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return "", err
	case resp.StatusCode != http.StatusOK || n != int64(size) || resp.ProtoMajor != int(p):
		return "", fmt.Errorf("%s: %s, %d bytes", resp.Proto, resp.Status, n)
	}
	return resp.Header.Get("Cache-Status"), nil
}

// udpCounters are the machine's UDP counters (/proc/net/snmp): datagrams sent (as the kernel
// counts them: a GSO batch once), and datagrams dropped for a full socket buffer, which HTTP/3
// pays for in retransmissions.
type udpCounters struct{ out, drops int64 }

func readUDP() udpCounters {
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return udpCounters{}
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		var c udpCounters
		for i := 1; i < len(f) && i < len(names); i++ {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			switch names[i] {
			case "OutDatagrams":
				c.out = n
			case "RcvbufErrors", "SndbufErrors":
				c.drops += n
			}
		}
		return c
	}
	return udpCounters{}
}
