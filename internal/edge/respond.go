package edge

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// bodySource is where a response body comes from; exactly one field besides size is set,
// or none for an empty body.
type bodySource struct {
	bytes []byte
	obj   *store.Object
	w     *store.Writer // a fill in progress: follow it
	rc    io.ReadCloser // a pass-through origin body; respond closes it
	size  int64         // -1 when unknown
}

// serveStored answers from a cached object.
func (s *Server) serveStored(w http.ResponseWriter, r *http.Request, lk *lookup, cs httpcache.Status) {
	s.respond(w, r, lk.m, bodySource{obj: lk.obj, size: lk.obj.Size()}, cs, true)
}

// serveResult answers from a fill's result.
func (s *Server) serveResult(w http.ResponseWriter, r *http.Request, res *fillResult, cs httpcache.Status, leader bool) {
	src := bodySource{size: res.size}
	switch {
	case res.fromCache:
		defer res.obj.Release()
		src.obj = res.obj
		cs = httpcache.Status{Hit: true, TTL: res.m.remaining(s.now()), HasTTL: true}
	case res.w != nil:
		src.w = res.w
	case res.resp != nil:
		src.rc, src.size = res.resp.Body, res.resp.ContentLength
	default:
		src.bytes = res.body
	}
	s.respond(w, r, res.m, src, cs, res.stored || res.fromCache)
}

// respond writes status, header and (the requested part of) the body, answering the client's
// conditional and range requests from the stored representation.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, m *meta, src bodySource, cs httpcache.Status, cached bool) {
	if src.rc != nil {
		defer src.rc.Close()
	}
	h := w.Header()
	for k, vs := range m.header {
		h[k] = vs
	}
	var plain *hitHeaders
	if cs.Hit && cs.Detail == "" && src.size >= 0 {
		plain = m.plainHitHeaders(s.now(), src.size, s.nodeName)
		h["Age"], h["Cache-Status"] = plain.age, plain.cacheStatus
	} else {
		if cached {
			h["Age"] = []string{strconv.FormatInt(int64(max(m.age(s.now()), 0)/time.Second), 10)}
		}
		h["Cache-Status"] = []string{string(cs.Append(make([]byte, 0, 96), s.nodeName))}
	}
	status, off, n := m.status, int64(0), src.size
	if status == http.StatusOK {
		if hasConditional(r.Header) {
			switch httpcache.CheckPreconditions(r.Method, r.Header, httpcache.ValidatorsOf(m.header)) {
			case http.StatusNotModified:
				w.WriteHeader(http.StatusNotModified)
				return
			case http.StatusPreconditionFailed:
				h.Del("Content-Type")
				w.WriteHeader(http.StatusPreconditionFailed)
				return
			}
		}
		if src.size >= 0 {
			h["Accept-Ranges"] = acceptRanges
			// Direct map reads: both servers store canonical keys, and Get's canonicalisation
			// is measurable on a hit.
			if rng := headerValue(r.Header, "Range"); rng != "" && httpcache.IfRangeAllows(headerValue(r.Header, "If-Range"), httpcache.ValidatorsOf(m.header)) {
				br, st := httpcache.ParseRange(rng, src.size)
				switch st {
				case http.StatusPartialContent:
					status, off, n = st, br.Start, br.Length
					h.Set("Content-Range", httpcache.ContentRange(br, src.size))
				case http.StatusRequestedRangeNotSatisfiable:
					h.Set("Content-Range", httpcache.UnsatisfiedRange(src.size))
					h.Del("Content-Type")
					h["Content-Length"] = zeroLength
					w.WriteHeader(st)
					return
				}
			}
		}
	}
	switch {
	case plain != nil && n == src.size:
		h["Content-Length"] = plain.contentLength
	case n >= 0 && status != http.StatusNoContent && status != http.StatusNotModified:
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead || n == 0 || status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	s.writeBody(w, src, off, n)
}

var (
	acceptRanges = []string{"bytes"}
	zeroLength   = []string{"0"}
)

func hasConditional(h http.Header) bool {
	return h["If-None-Match"] != nil || h["If-Modified-Since"] != nil || h["If-Match"] != nil || h["If-Unmodified-Since"] != nil
}

// writeBody copies bytes [off, off+n) of the source (n < 0: to the end). A source that fails
// mid-body (origin cut, corrupt record) aborts the connection, so the client sees a broken
// transfer rather than a short body it could take for complete.
func (s *Server) writeBody(w http.ResponseWriter, src bodySource, off, n int64) {
	var (
		rd  io.Reader
		err error
	)
	switch {
	case src.obj != nil:
		if b, ok := src.obj.Bytes(); ok {
			s.writeBytes(w, slice(b, off, n))
			return
		}
		var rc io.ReadCloser
		if rc, err = src.obj.NewReader(off, n); err != nil {
			s.abort(err)
		}
		defer rc.Close()
		rd = rc
	case src.w != nil:
		rc := src.w.NewReader()
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, off); err != nil {
			s.abort(err)
		}
		rd = rc
		if n >= 0 {
			rd = io.LimitReader(rc, n)
		}
	case src.rc != nil:
		rd = src.rc
	default:
		s.writeBytes(w, slice(src.bytes, off, n))
		return
	}
	s.copyOut(w, rd)
}

// writeBytes writes a body held in memory: at once when it fits the socket buffers anyway,
// else through copyOut so that a client that stops reading meets SendTimeout.
func (s *Server) writeBytes(w http.ResponseWriter, b []byte) {
	if len(b) <= 64<<10 || s.sendTimeout <= 0 {
		w.Write(b)
		return
	}
	s.copyOut(w, bytes.NewReader(b))
}

func slice(b []byte, off, n int64) []byte {
	if n < 0 {
		return b[off:]
	}
	return b[off : off+n]
}

// copyOut streams rd to the client. Each write gets SendTimeout: a client that stops reading is
// cut off instead of holding the connection (and the fill's buffers) forever.
func (s *Server) copyOut(w http.ResponseWriter, rd io.Reader) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	for {
		nr, rerr := rd.Read(buf)
		if nr > 0 {
			if s.sendTimeout > 0 {
				rc.SetWriteDeadline(time.Now().Add(s.sendTimeout))
			}
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return // the client went away
			}
		}
		if rerr == io.EOF {
			return
		}
		if rerr != nil {
			s.abort(rerr)
		}
	}
}

// abort ends the response by dropping the connection (net/http's documented way).
func (s *Server) abort(err error) {
	if errors.Is(err, store.ErrCorrupt) {
		s.log.Warn("corrupt cache record dropped mid-response", "err", err)
	} else {
		s.log.Warn("response aborted", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// serveError answers a failed fill: with the stale object when it may stand in, else with the
// error's status.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, d *domain, lk *lookup, err error, cs httpcache.Status) {
	now := s.now()
	if lk.obj != nil && s.staleAllowed(lk.m, d, now) {
		s.stats.Stale.Add(1)
		cs.Fwd, cs.Stored, cs.TTL, cs.HasTTL = "stale", false, lk.m.remaining(now), true
		cs.Detail = "origin-error"
		s.serveHit(w, r, d, lk, cs)
		return
	}
	status, reason := statusFor(err)
	s.log.Warn("origin fetch failed", "host", r.Host, "path", r.URL.Path, "status", status, "err", err)
	cs.Detail = reason
	s.writeError(w, status, reason, cs)
}
