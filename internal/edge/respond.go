package edge

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/store"
)

// respond writes status, header and (the requested part of) the body, answering the client's
// conditional and range requests from the stored representation.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, m *objcache.Meta, src *objcache.Body, cs httpcache.Status, cached bool) error {
	if src.RC != nil {
		defer func() { src.RC.Close(); src.RC = nil }()
	}
	h := w.Header()
	var plain *objcache.HitHeaders
	if cs.Hit && cs.Detail == "" && src.Size >= 0 {
		plain = m.HitHeaders(s.now(), src.Size, s.nodeName)
	}
	if fw := fieldsWriter(w); plain != nil && fw != nil && m.Status == http.StatusOK && !hasConditional(r.Header) &&
		r.Header["Range"] == nil && !overlaps(h, m.Header) {
		sf := storedFieldsOf(m)
		fw.AddFields(sf.block, sf.date) // a plain hit: the stored header as serialized once
	} else {
		for k, vs := range m.Header {
			h[k] = vs
		}
	}
	if plain != nil {
		h["Age"], h["Cache-Status"] = plain.Age, plain.CacheStatus
	} else {
		if cached {
			h["Age"] = []string{strconv.FormatInt(int64(max(m.Age(s.now()), 0)/time.Second), 10)}
		}
		h["Cache-Status"] = []string{string(cs.Append(make([]byte, 0, 96), s.nodeName))}
	}
	status, off, n := m.Status, int64(0), src.Size
	if status == http.StatusOK {
		if hasConditional(r.Header) {
			switch httpcache.CheckPreconditions(r.Method, r.Header, httpcache.ValidatorsOf(m.Header)) {
			case http.StatusNotModified:
				w.WriteHeader(http.StatusNotModified)
				return nil
			case http.StatusPreconditionFailed:
				h.Del("Content-Type")
				w.WriteHeader(http.StatusPreconditionFailed)
				return nil
			}
		}
		if src.Size >= 0 {
			h["Accept-Ranges"] = acceptRanges
			// Direct map reads: both servers store canonical keys, and Get's canonicalisation
			// is measurable on a hit.
			if rng := headerValue(r.Header, "Range"); rng != "" && httpcache.IfRangeAllows(headerValue(r.Header, "If-Range"), httpcache.ValidatorsOf(m.Header)) {
				br, st := httpcache.ParseRange(rng, src.Size)
				switch st {
				case http.StatusPartialContent:
					status, off, n = st, br.Start, br.Length
					h.Set("Content-Range", httpcache.ContentRange(br, src.Size))
				case http.StatusRequestedRangeNotSatisfiable:
					h.Set("Content-Range", httpcache.UnsatisfiedRange(src.Size))
					h.Del("Content-Type")
					h["Content-Length"] = zeroLength
					w.WriteHeader(st)
					return nil
				}
			}
		}
	}
	switch {
	case plain != nil && n == src.Size:
		h["Content-Length"] = plain.ContentLength
	case n >= 0 && status != http.StatusNoContent && status != http.StatusNotModified:
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead || n == 0 || status == http.StatusNoContent || status == http.StatusNotModified {
		return nil
	}
	return s.writeBody(w, src, off, n)
}

// storedFields is a record's stored header as h1.AppendFields serializes it, without the
// fields respond sets itself.
type storedFields struct {
	block []byte
	date  bool
}

func storedFieldsOf(m *objcache.Meta) *storedFields {
	return m.Lazy(slotFields, func() any {
		return &storedFields{block: h1.AppendFields(nil, m.Header, setByRespond), date: m.Header["Date"] != nil}
	}).(*storedFields)
}

// setByRespond names the fields respond writes into the header map of a plain hit.
func setByRespond(name string) bool {
	switch name {
	case "Age", "Cache-Status", "Accept-Ranges", "Content-Length":
		return true
	}
	return false
}

// fieldsWriter is w's h1.FieldsWriter, unless a wrapper sets header fields later that the
// stored header may hold too (Server-Timing).
func fieldsWriter(w http.ResponseWriter) h1.FieldsWriter {
	for {
		switch t := w.(type) {
		case *recorder:
			w = t.ResponseWriter
		case *timingWriter:
			return nil
		default:
			return h1.FieldsWriterOf(w)
		}
	}
}

// overlaps says whether a field already in h (set before respond: a peer's Surrogate-Key)
// is in the stored header too, where copying the stored header would have replaced it.
func overlaps(h, stored http.Header) bool {
	for k := range h {
		if stored[k] != nil {
			return true
		}
	}
	return false
}

var (
	acceptRanges = []string{"bytes"}
	zeroLength   = []string{"0"}
)

func hasConditional(h http.Header) bool {
	return h["If-None-Match"] != nil || h["If-Modified-Since"] != nil || h["If-Match"] != nil || h["If-Unmodified-Since"] != nil
}

// writeBody copies bytes [off, off+n) of the source (n < 0: to the end). A source that fails
// mid-body (an upstream cut, a corrupt record) is an error: the caller ends the connection, so
// the client sees a broken transfer rather than a short body it could take for complete.
func (s *Server) writeBody(w http.ResponseWriter, src *objcache.Body, off, n int64) error {
	var rd io.Reader
	switch {
	case src.Obj != nil:
		if b, ok := src.Obj.Bytes(); ok {
			return s.writeBytes(w, slice(b, off, n))
		}
		rc, err := src.Obj.NewReader(off, n)
		if err != nil {
			return err
		}
		defer rc.Close()
		rd = rc
	case src.W != nil:
		rc := src.W.NewReader()
		defer rc.Close()
		if _, err := io.CopyN(io.Discard, rc, off); err != nil {
			return err
		}
		rd = rc
		if n >= 0 {
			rd = io.LimitReader(rc, n)
		}
	case src.RC != nil:
		rd = src.RC
	default:
		return s.writeBytes(w, slice(src.Bytes, off, n))
	}
	return s.copyOut(w, rd)
}

// writeBytes writes a body held in memory: at once when it fits the socket buffers anyway,
// else through copyOut so that a client that stops reading meets SendTimeout.
func (s *Server) writeBytes(w http.ResponseWriter, b []byte) error {
	if len(b) <= 64<<10 || s.sendTimeout <= 0 {
		w.Write(b)
		return nil
	}
	return s.copyOut(w, bytes.NewReader(b))
}

func slice(b []byte, off, n int64) []byte {
	if n < 0 {
		return b[off:]
	}
	return b[off : off+n]
}

// copyOut streams rd to the client. Each write gets SendTimeout: a client that stops reading is
// cut off instead of holding the connection (and the fill's buffers) forever. A client that
// went away is not an error; a source that failed is.
func (s *Server) copyOut(w http.ResponseWriter, rd io.Reader) error {
	bp := objcache.CopyBuffers.Get().(*[]byte)
	defer objcache.CopyBuffers.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	for {
		nr, rerr := rd.Read(buf)
		if nr > 0 {
			if s.sendTimeout > 0 {
				rc.SetWriteDeadline(time.Now().Add(s.sendTimeout))
			}
			if _, werr := w.Write(buf[:nr]); werr != nil {
				return nil // the client went away
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// abort ends a response cut short by dropping the connection (net/http's documented way).
func (s *Server) abort(err error) {
	if errors.Is(err, store.ErrCorrupt) {
		s.log.Warn("corrupt cache record dropped mid-response", "err", err)
	} else {
		s.log.Warn("response aborted", "err", err)
	}
	panic(http.ErrAbortHandler)
}

// serveError answers a request the cache could not answer: the error's status and reason.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, err error, cs httpcache.Status) {
	if errors.Is(err, objcache.ErrGone) {
		return // nobody to answer
	}
	status, reason := statusFor(err)
	s.log.Warn("origin fetch failed", "host", r.Host, "path", r.URL.Path, "status", status, "err", err)
	cs.Detail = reason
	s.writeError(w, status, reason, cs)
}
