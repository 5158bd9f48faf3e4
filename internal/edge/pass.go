package edge

import (
	"net/http"
	"time"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// pass forwards a request the cache does not answer (unsafe methods, bypass rules) and, after
// a successful unsafe method, invalidates what RFC 9111 4.4 says it invalidates.
func (s *Server) pass(w http.ResponseWriter, r *http.Request, d *domain, fwd string) error {
	if s.maxBody > 0 && r.ContentLength > s.maxBody {
		s.writeError(w, http.StatusRequestEntityTooLarge, "request-body-too-large", httpcache.Status{Fwd: fwd})
		return nil
	}
	req := s.cache.Forward(r.Context(), d.policy, r, r.Method)
	if r.Body != nil && r.Body != http.NoBody {
		req.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		req.ContentLength = r.ContentLength
	}
	status, header, err := s.proxy(w, r, d, req, httpcache.Status{Fwd: fwd})
	if status != 0 && httpcache.InvalidatesOn(r.Method, status) {
		for _, target := range httpcache.InvalidationTargets(r.Host, r.URL, header) {
			s.invalidate(r, d, target)
		}
	}
	return err
}

// passGet asks the origin directly for a GET or HEAD the cache will not store, keeping the
// client's conditional and range headers for the origin to answer.
func (s *Server) passGet(w http.ResponseWriter, r *http.Request, d *domain, fwd, detail string) error {
	_, _, err := s.proxy(w, r, d, s.cache.Forward(r.Context(), d.policy, r, r.Method), httpcache.Status{Fwd: fwd, Detail: detail})
	return err
}

// proxy sends req and streams the answer back; it returns the origin's status and header,
// status 0 when the origin could not be asked.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, d *domain, req *http.Request, cs httpcache.Status) (int, http.Header, error) {
	s.stats.Passes.Add(1)
	start := time.Now()
	req, stopHints := objcache.RelayHints(d.policy, w, r, req)
	resp, err := d.origin.Fetch(req)
	stopHints()
	took := time.Since(start)
	addOriginTime(w, took)
	s.noteOrigin(d, resp, err, took)
	if err != nil {
		if origin.KindOf(err) != origin.KindBadRequest { // a client's broken body is not the origin's failure
			s.stats.PassErrors.Add(1)
		}
		status, reason := statusFor(err)
		cs.Detail = reason
		s.writeError(w, status, reason, cs)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	httpcache.RemoveHopByHop(resp.Header)
	resp.Header["Via"] = append(resp.Header["Via"], s.cache.Via())
	cs.FwdStatus = resp.StatusCode
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	h.Set("Cache-Status", string(cs.Append(nil, s.nodeName)))
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		if err := s.copyOut(w, resp.Body); err != nil {
			return resp.StatusCode, resp.Header, err
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// invalidate drops the stored object of a path ("/p" or "/p?q") of a domain. Dropping the key
// of the URL also orphans its Vary variants: they are found only through it.
func (s *Server) invalidate(r *http.Request, d *domain, target string) {
	path, query := target, ""
	for i := 0; i < len(target); i++ {
		if target[i] == '?' {
			path, query = target[:i], target[i+1:]
			break
		}
	}
	s.cache.Delete(d.policy.Keys.Key(r.Host, path, query, r.Header))
}
