package edge

import (
	"context"
	"errors"
	"net/http"

	"github.com/pixcdn/pixcdn/internal/httpcache"
	"github.com/pixcdn/pixcdn/internal/imageproc"
	"github.com/pixcdn/pixcdn/internal/objcache"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// statusFor maps an error on the data path to the status the client gets and a short reason
// (an RFC 8941 token, used in Cache-Status detail and the body). This is the only place that
// decides it.
func statusFor(err error) (int, string) {
	var (
		mbe *http.MaxBytesError
		ose *objcache.StatusError
	)
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "request-body-too-large"
	case errors.As(err, &ose):
		return ose.Status, "origin-error"
	case errors.Is(err, imageproc.ErrTimeout): // before the deadline it also wraps
		return http.StatusServiceUnavailable, "image-timeout"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "origin-timeout"
	case errors.As(err, new(*imageproc.ParamError)):
		return http.StatusBadRequest, "bad-image-parameter"
	case errors.Is(err, imageproc.ErrNotImage):
		return http.StatusUnsupportedMediaType, "not-an-image"
	case errors.Is(err, imageproc.ErrTooCostly):
		return http.StatusUnprocessableEntity, "image-too-costly"
	case errors.Is(err, imageproc.ErrUnprocessable), errors.Is(err, objcache.ErrSourceTooLarge):
		return http.StatusUnprocessableEntity, "unprocessable-image"
	case errors.Is(err, imageproc.ErrBusy):
		return http.StatusServiceUnavailable, "image-queue-full"
	case errors.Is(err, objcache.ErrNotCached):
		return http.StatusGatewayTimeout, "not-cached"
	case errors.Is(err, objcache.ErrAbandoned):
		return http.StatusServiceUnavailable, "abandoned"
	}
	switch origin.KindOf(err) {
	case origin.KindTimeout:
		return http.StatusGatewayTimeout, "origin-timeout"
	case origin.KindOverloaded:
		return http.StatusServiceUnavailable, "origin-overloaded"
	case origin.KindUnavailable:
		if errors.Is(err, origin.ErrHeaderTooLarge) {
			return http.StatusBadGateway, "origin-header-too-large"
		}
	case origin.KindBadRequest:
		if errors.Is(err, origin.ErrClientBody) {
			return http.StatusBadRequest, "bad-request-body"
		}
		return http.StatusBadRequest, "bad-request"
	}
	return http.StatusBadGateway, "origin-unavailable"
}

// reject answers a request the edge refuses before any cache or origin work.
func (s *Server) reject(w http.ResponseWriter, status int, reason string) {
	s.writeError(w, status, reason, httpcache.Status{Fwd: "bypass", Detail: tokenize(reason)})
}

func (s *Server) writeError(w http.ResponseWriter, status int, reason string, cs httpcache.Status) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Status", string(cs.Append(nil, s.nodeName)))
	if status == http.StatusServiceUnavailable {
		retry := "5"
		if reason == "image-queue-full" {
			retry = "1" // a queue place frees within the time of one image job
		}
		h.Set("Retry-After", retry)
	}
	w.WriteHeader(status)
	w.Write([]byte("pixcdn: " + http.StatusText(status) + ": " + reason + "\n"))
}

// tokenize turns a reason into an RFC 8941 token (spaces become dashes).
func tokenize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == ' ' {
			b[i] = '-'
		}
	}
	return string(b)
}
