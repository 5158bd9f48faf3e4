package edge

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/metrics"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// RequestLogger receives every finished request (the access log). It must not keep ri or its
// strings after returning.
type RequestLogger interface {
	Log(ri *metrics.RequestInfo)
}

// recorder wraps the client's ResponseWriter while metrics, live stats or the access log are on: it
// notes the status and body bytes, and what the request cost at the origin. Pooled; the
// fields after ri survive reuse (sync.Pool keeps a recorder near the P that used it).
type recorder struct {
	http.ResponseWriter
	status     int
	bytes      int64
	originTime time.Duration
	domain     string    // the configured domain that served it; "" for an unknown host
	start      time.Time // when the request began: also the hit path's "now" (one clock read)
	ri         metrics.RequestInfo

	ids   idBlock
	idBuf [16]byte // a base-36 uint64 is at most 13 digits
}

// idBlock hands out request IDs from a block reserved in one atomic add, so that requests on
// different CPUs do not all write one shared counter.
type idBlock struct{ next, end uint64 }

// idBlockSize IDs are reserved at a time; a pooled recorder dropped by the GC loses the rest
// of its block, which leaves gaps but never repeats an ID.
const idBlockSize = 256

func (b *idBlock) take() uint64 {
	if b.next == b.end {
		b.end = requestSeq.Add(idBlockSize) + 1
		b.next = b.end - idBlockSize
	}
	id := b.next
	b.next++
	return id
}

var recorders = sync.Pool{New: func() any { return new(recorder) }}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 && status >= 200 { // a 103 is not the response's status
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// addOriginTime notes time a request spent waiting on the origin, when w is a recorder.
func addOriginTime(w http.ResponseWriter, d time.Duration) {
	if rec, ok := w.(*recorder); ok {
		rec.originTime += d
	}
}

var requestSeq atomic.Uint64

// observed serves r through a recorder and reports it to the metrics, the live stats and the
// access log.
func (s *Server) observed(w http.ResponseWriter, r *http.Request) error {
	rec := recorders.Get().(*recorder)
	rec.ResponseWriter, rec.status, rec.bytes, rec.originTime, rec.domain = w, 0, 0, 0, ""
	start := time.Now()
	rec.start = start
	err := s.serve(rec, r, fromClient)
	if err != errWouldBlock {
		s.report(rec, r, start)
	}
	rec.ResponseWriter = nil
	recorders.Put(rec)
	return err
}

// report fills the request's RequestInfo. Its strings point into the request and the recorder:
// valid for the calls below only, which is what the metrics and the log promise. Headers are
// read from the maps directly with canonical keys, skipping Get's canonicalisation.
func (s *Server) report(rec *recorder, r *http.Request, start time.Time) {
	ri := &rec.ri
	cs := headerValue(rec.Header(), "Cache-Status")
	*ri = metrics.RequestInfo{
		Start: start, Duration: time.Since(start), Domain: rec.domain,
		Status: rec.status, BytesSent: rec.bytes, CacheStatus: cacheClass(cs, rec.status), ProtoMajor: r.ProtoMajor,
	}
	if s.metrics != nil {
		s.metrics.Request(ri)
	}
	if s.live != nil {
		s.live.Request(ri)
		if rec.domain != "" {
			s.live.URL(rec.domain, r.URL.Path, rec.bytes)
		}
	}
	if s.accessLog == nil {
		return
	}
	ri.Host, ri.Method, ri.URI, ri.Proto = r.Host, r.Method, r.RequestURI, r.Proto
	ri.RemoteIP, ri.CacheHeader, ri.OriginTime = remoteIP(r.RemoteAddr), cs, rec.originTime
	ri.Referer, ri.UserAgent = headerValue(r.Header, "Referer"), headerValue(r.Header, "User-Agent")
	if id := headerValue(r.Header, "X-Request-Id"); id != "" {
		ri.RequestID = id
	} else {
		b := strconv.AppendUint(rec.idBuf[:0], rec.ids.take(), 36)
		ri.RequestID = unsafe.String(unsafe.SliceData(b), len(b))
	}
	s.accessLog.Log(ri)
}

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// cacheClass reduces a Cache-Status value to the metrics' classes. It costs ~18 ns for a hit's
// value (a few short scans), too little to memoise.
func cacheClass(cs string, status int) string {
	switch {
	case strings.Contains(cs, "; hit"):
		if strings.Contains(cs, "detail=stale") {
			return "stale"
		}
		return "hit"
	case strings.Contains(cs, "fwd=stale"):
		return "stale"
	case strings.Contains(cs, "fwd=bypass") || strings.Contains(cs, "fwd=method") || strings.Contains(cs, "uncacheable"):
		return "pass"
	case status >= 500 && !strings.Contains(cs, "fwd-status"):
		return "error" // the edge answered for an origin that did not
	}
	return "miss"
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// originOutcome names an origin exchange for the metrics.
func originOutcome(err error, status int) string {
	switch {
	case err == nil && status >= 500:
		return "5xx"
	case err == nil:
		return "ok"
	}
	switch origin.KindOf(err) {
	case origin.KindTimeout:
		return "timeout"
	case origin.KindOverloaded:
		return "overloaded"
	case origin.KindBadRequest:
		return "client-error" // the request was refused before or while it was sent: not the origin's fault
	}
	return "error"
}

// noteOrigin records one origin exchange of domain d: in the live stats by domain, and in
// the metrics labelled with the server that answered (or failed) when the origin names one:
// configured URLs, so the label set stays bounded.
func (s *Server) noteOrigin(d *domain, resp *http.Response, err error, took time.Duration) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	outcome := originOutcome(err, status)
	if s.live != nil {
		s.live.OriginRequest(d.cfg.Name, outcome != "ok" && outcome != "client-error")
	}
	if s.metrics == nil {
		return
	}
	name, bytes := d.cfg.Name, int64(0)
	var oe *origin.Error
	if resp != nil {
		bytes = max(resp.ContentLength, 0)
		if srv := origin.ServerOf(resp); srv != "" {
			name += " " + srv
		}
	} else if errors.As(err, &oe) && oe.Server != "" && d.cfg.Origin.Type == config.OriginHTTP {
		name += " " + oe.Server
	}
	s.metrics.OriginRequest(name, outcome, status, took, bytes)
}

// liveDomains tells the live stats the domain names of cfg, the configuration now served.
func (s *Server) liveDomains(cfg *config.Config) {
	if s.live == nil {
		return
	}
	names := make([]string, len(cfg.Domains))
	for i := range cfg.Domains {
		names[i] = cfg.Domains[i].Name
	}
	s.live.SetDomains(names)
}

// OriginHealth reports the passive health of every HTTP origin server, by domain.
func (s *Server) OriginHealth() []metrics.OriginServerHealth {
	var out []metrics.OriginServerHealth
	for dc, d := range s.routes.Load().domains {
		o := d.origin
		for {
			u, ok := o.(interface{ Unwrap() origin.Origin })
			if !ok {
				break
			}
			o = u.Unwrap()
		}
		h, ok := o.(interface{ Health() []origin.ServerHealth })
		if !ok {
			continue
		}
		for _, sh := range h.Health() {
			out = append(out, metrics.OriginServerHealth{Origin: dc.Name, Server: sh.URL, Up: sh.Up, ConsecutiveFailures: sh.ConsecutiveFailures})
		}
	}
	return out
}
