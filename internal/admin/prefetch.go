package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PrefetchRequest is the body of POST /prefetch.
type PrefetchRequest struct {
	URLs []string `json:"urls"`
}

// PrefetchDone is the last line of a complete POST /prefetch stream. A stream without it was
// cut short (the node stopped, or the connection broke) and did not prefetch everything.
type PrefetchDone struct {
	Done   bool `json:"done"`
	Total  int  `json:"total"`  // URLs in the request, all of them answered above
	Failed int  `json:"failed"` // lines whose Failed() is true
}

// streamWriteTimeout bounds each line's write, so a client that stops reading cancels its
// prefetch instead of holding workers forever.
const streamWriteTimeout = time.Minute

// prefetch serves POST /prefetch: the URLs are fetched PrefetchConcurrency at a time and each
// result is written and flushed as soon as it is known, in completion order, as NDJSON. The
// request's context (the client going away, Close) cancels what is still running.
func (h *handler) prefetch(w http.ResponseWriter, r *http.Request) {
	var req PrefetchRequest
	if err := h.decodeBody(w, r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := h.checkPrefetch(req); err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	lw := &lineWriter{w: w, rc: http.NewResponseController(w), now: h.cfg.Now}
	defer lw.rc.SetWriteDeadline(time.Time{}) // the connection may serve another request
	lw.flush()

	done := PrefetchDone{Done: true, Total: len(req.URLs)}
	for res := range h.runPrefetch(ctx, req.URLs) {
		if res.Failed() {
			done.Failed++
		}
		if !lw.write(res) {
			cancel() // nobody is listening: stop the work, drain what is in flight
		}
	}
	if ctx.Err() == nil {
		lw.write(done)
	}
	h.cfg.Logger.Info("admin: prefetch", "urls", len(req.URLs), "failed", done.Failed,
		"complete", ctx.Err() == nil, "remote", r.RemoteAddr)
}

func (h *handler) checkPrefetch(req PrefetchRequest) error {
	if len(req.URLs) == 0 {
		return fmt.Errorf(`prefetch: no urls (body: {"urls": ["https://..."]})`)
	}
	if len(req.URLs) > h.cfg.MaxPrefetchURLs {
		return fmt.Errorf("prefetch: %d urls, at most %d per request", len(req.URLs), h.cfg.MaxPrefetchURLs)
	}
	for i, u := range req.URLs {
		if strings.TrimSpace(u) == "" {
			return fmt.Errorf("prefetch: urls[%d] is empty", i)
		}
	}
	return nil
}

// runPrefetch fetches urls with up to PrefetchConcurrency workers and sends each result on the
// returned channel, which is closed once every worker has stopped. Workers take no new URL
// after ctx is done. The caller must drain the channel.
func (h *handler) runPrefetch(ctx context.Context, urls []string) <-chan PrefetchResult {
	n := min(h.cfg.PrefetchConcurrency, len(urls))
	out := make(chan PrefetchResult, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(urls) || ctx.Err() != nil {
					return
				}
				out <- completeResult(urls[i], h.edge.Prefetch(ctx, urls[i]))
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out
}

// completeResult fills what an Edge left out, so that every line names its URL and every
// failure has a reason.
func completeResult(rawURL string, res PrefetchResult) PrefetchResult {
	if res.URL == "" {
		res.URL = rawURL
	}
	if res.Failed() && res.Error == "" {
		if res.Status == 0 {
			res.Error = "no response"
		} else {
			res.Error = fmt.Sprintf("status %d %s", res.Status, http.StatusText(res.Status))
		}
	}
	return res
}

// lineWriter writes one JSON value per line and flushes it; after the first failed write it
// writes nothing more.
type lineWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	now    func() time.Time
	broken bool
}

func (lw *lineWriter) write(v any) bool {
	if lw.broken {
		return false
	}
	lw.rc.SetWriteDeadline(lw.now().Add(streamWriteTimeout))
	if err := json.NewEncoder(lw.w).Encode(v); err != nil {
		lw.broken = true
		return false
	}
	return lw.flush()
}

func (lw *lineWriter) flush() bool {
	if err := lw.rc.Flush(); err != nil {
		lw.broken = true
	}
	return !lw.broken
}
