package router

import (
	"context"
	"io"
	"net/http"
	"time"
)

// nodeHealth is what the router knows of a node's state: its probes (with hysteresis: fall
// failures in a row take it out, rise successes bring it back) and its load against its
// thresholds (out past one, back below 90 % of every one).
type nodeHealth struct {
	up, loaded bool
	probed     bool // at least one probe answered or failed
	fails, oks int
	spare      float64 // 1 - the largest load fraction, in [0, 1]; 1 without thresholds
}

// load is a node's last second as the control plane reports it.
type load struct {
	rps, mbps, cpu float64
}

// probeResult moves h by one probe; it reports whether up changed.
func (h *nodeHealth) probeResult(ok bool, fall, rise int) bool {
	was := h.up
	switch {
	case !h.probed: // the first probe decides at once: no traffic to a node never seen up
		h.probed, h.up = true, ok
	case ok:
		h.fails = 0
		if !h.up {
			if h.oks++; h.oks >= rise {
				h.up, h.oks = true, 0
			}
		}
	default:
		h.oks = 0
		if h.up {
			if h.fails++; h.fails >= fall {
				h.up, h.fails = false, 0
			}
		}
	}
	return h.up != was
}

// loadResult moves h by one load report against n's thresholds; it reports whether loaded
// changed.
func (h *nodeHealth) loadResult(l load, n *Node) bool {
	frac := 0.0
	for _, f := range [][2]float64{{l.rps, n.MaxRPS}, {l.mbps, n.MaxMbps}, {l.cpu, n.MaxCPU}} {
		if f[1] > 0 {
			frac = max(frac, f[0]/f[1])
		}
	}
	was := h.loaded
	switch {
	case frac >= 1:
		h.loaded = true
	case frac < 0.9:
		h.loaded = false
	}
	h.spare = min(max(1-frac, 0), 1)
	return h.loaded != was
}

// probe runs one node's health checks every interval until ctx ends, reporting each result.
func probe(ctx context.Context, client *http.Client, url string, interval time.Duration, report func(ok bool)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		report(probeOnce(ctx, client, url, interval))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probeOnce is one GET of url: up when it answers 200 within the timeout.
func probeOnce(ctx context.Context, client *http.Client, url string, interval time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, min(interval*8/10, 2*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "pixcdn-router")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
