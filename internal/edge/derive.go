package edge

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/pixcdn/pixcdn/internal/h1"
	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
)

// serveMade makes the variant at key through the cache (or waits for the request already
// making it) and answers from it. fwd and detail go to Cache-Status.
func (s *Server) serveMade(w http.ResponseWriter, r *http.Request, key, fwd, detail string, mk objcache.MakeFunc) error {
	stop := h1.WatchDisconnect(w) // the native listener notices a client that leaves while we wait
	res := s.cache.Make(r, key, mk)
	stop()
	return s.answerMade(w, r, &res, fwd, detail)
}

// answerMade answers from a made (or stored, or failed) variant.
func (s *Server) answerMade(w http.ResponseWriter, r *http.Request, res *objcache.Result, fwd, detail string) error {
	defer res.Release()
	cs := res.Status
	if !cs.Hit {
		cs.Fwd = fwd
		if cs.Detail == "" {
			cs.Detail = detail
		}
	}
	switch res.Kind {
	case objcache.Failed:
		if errors.Is(res.Err, objcache.ErrGone) {
			return nil // the client went away
		}
		s.madeFailed(w, r, res.Err, cs)
		return nil
	case objcache.Stale: // a stale variant stands in: its own, expired freshness
		cs.Fwd, cs.TTL, cs.HasTTL, cs.Detail = "stale", res.Meta.Remaining(s.now()), true, "origin-error"
	case objcache.Fetched:
		if cs.Stored {
			cs.TTL, cs.HasTTL = res.Meta.Remaining(s.now()), true
		}
	}
	return s.respond(w, r, res.Meta, &res.Body, cs, cs.Stored || res.Kind == objcache.Hit)
}

// madeFailed answers a request whose variant could not be made: a source's own answer (404,
// 502...) as it is, anything else as the error's status.
func (s *Server) madeFailed(w http.ResponseWriter, r *http.Request, err error, cs httpcache.Status) {
	var rr *objcache.RelayedError
	if errors.As(err, &rr) {
		h := w.Header()
		for k, vs := range rr.Header {
			h[k] = vs
		}
		cs.FwdStatus, cs.Detail = rr.Status, "source-status"
		h["Cache-Status"] = []string{string(cs.Append(nil, s.nodeName))}
		h["Content-Length"] = []string{strconv.Itoa(len(rr.Body))}
		w.WriteHeader(rr.Status)
		if r.Method != http.MethodHead {
			w.Write(rr.Body)
		}
		return
	}
	status, reason := statusFor(err)
	if status >= 500 {
		s.log.Warn("making a variant failed", "host", r.Host, "path", r.URL.Path, "status", status, "err", err)
	}
	cs.Detail = reason
	s.writeError(w, status, reason, cs)
}
