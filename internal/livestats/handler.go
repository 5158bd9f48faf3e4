package livestats

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// writeTimeout bounds one write of the event stream: a client that stops reading loses its
// stream (and frees its slot) instead of holding it.
const writeTimeout = 10 * time.Second

// Handler serves the window over GET (and HEAD):
//
//   - as JSON, the whole window (Snapshot): by default, with ?format=json, or Accept: application/json;
//   - as JSON, the latest second only (Summary, a router's load view), with ?format=latest;
//   - as Server-Sent Events, with ?stream=1 or Accept: text/event-stream: every second one
//     "stats" event whose data line is the Summary, and a comment now and then to keep idle
//     proxies from closing the connection.
//
// A stream ends when the request's context does: the client went away, or the server's
// BaseContext was cancelled. http.Server.Shutdown waits for running handlers, so a server that
// serves streams should cancel its BaseContext on shutdown (RegisterOnShutdown). At most 64
// streams run at once; past that a client is answered 503.
func (w *Window) Handler() http.Handler { return http.HandlerFunc(w.serveHTTP) }

func (w *Window) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rw.Header().Set("Cache-Control", "no-store")
	switch f := r.URL.Query().Get("format"); {
	case f == "json":
		w.serveJSON(rw, r, w.Snapshot())
	case f == "latest":
		w.serveJSON(rw, r, w.Latest())
	case f != "":
		http.Error(rw, "format: want json or latest", http.StatusBadRequest)
	case r.URL.Query().Get("stream") == "1" || strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
		w.serveStream(rw, r)
	default:
		w.serveJSON(rw, r, w.Snapshot())
	}
}

func (w *Window) serveJSON(rw http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		return
	}
	rw.Write(append(b, '\n')) // the client's write error is the client's: nothing to do
}

// serveStream runs one event stream until the request's context ends or a write fails.
func (w *Window) serveStream(rw http.ResponseWriter, r *http.Request) {
	select {
	case w.streams <- struct{}{}:
		defer func() { <-w.streams }()
	default:
		rw.Header().Set("Retry-After", "5")
		http.Error(rw, "too many event streams", http.StatusServiceUnavailable)
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx in front must not hold events back
	rw.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(rw)
	// The opening comment sends the header at once, so the client knows the stream is open
	// before the first event.
	if send(rc, rw, []byte(": stats every second\nretry: 2000\n\n")) != nil {
		return
	}
	events, beats := time.NewTicker(w.every), time.NewTicker(w.heartbeat)
	defer events.Stop()
	defer beats.Stop()
	var buf []byte
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beats.C:
			buf = append(buf[:0], ": heartbeat\n\n"...)
		case <-events.C:
			if buf = w.appendEvent(buf[:0]); buf == nil {
				return
			}
		}
		if send(rc, rw, buf) != nil {
			return
		}
	}
}

// appendEvent appends one stats event to b; nil if the summary cannot be encoded.
func (w *Window) appendEvent(b []byte) []byte {
	data, err := json.Marshal(w.Latest()) // one line: Marshal writes no newline
	if err != nil {
		return nil
	}
	b = append(b, "event: stats\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// send writes p and flushes it, within writeTimeout where the connection has deadlines.
func send(rc *http.ResponseController, rw http.ResponseWriter, p []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // not every writer has deadlines
	if _, err := rw.Write(p); err != nil {
		return err
	}
	return rc.Flush()
}
