package origin

import (
	"errors"
	"fmt"
	"net/http"
)

// Origin fetches one object.
//
// The request's URL holds only the path and raw query the edge wants (no scheme or host); its
// Host field is the Host the edge wants the origin to see ("" for the origin's own, from its
// configuration), which an implementation may override; its context bounds the whole exchange.
// Fetch must not modify req.
//
// On success the caller owns resp.Body and must close it. A status the origin answered (404,
// 500...) is a response, not an error. An error means no usable response: it is an *Error whose
// Kind says why, so the edge can map it to 502 or 504 (or serve stale). A failure while reading
// resp.Body surfaces from Read and means the body is incomplete.
//
// Implementations are safe for concurrent use.
type Origin interface {
	Fetch(req *http.Request) (*http.Response, error)
}

// FetchFunc adapts a function to Origin.
type FetchFunc func(req *http.Request) (*http.Response, error)

// Fetch calls f(req).
func (f FetchFunc) Fetch(req *http.Request) (*http.Response, error) { return f(req) }

// Kind classifies origin failures.
type Kind int

const (
	// KindUnavailable: no server could be reached or it answered garbage (maps to 502).
	KindUnavailable Kind = iota
	// KindTimeout: connect or response timeout, or the request context expired (maps to 504).
	KindTimeout
	// KindOverloaded: the per-origin concurrency limit stayed full for the whole wait (maps to 503).
	KindOverloaded
	// KindBadRequest: the request cannot be expressed for this origin, e.g. a path that escapes
	// a filesystem root, or the client's request body could not be read (ErrClientBody); maps
	// to 400 (413 for a body over the size limit). Never counts against a server's health.
	KindBadRequest
)

func (k Kind) String() string {
	switch k {
	case KindUnavailable:
		return "unavailable"
	case KindTimeout:
		return "timeout"
	case KindOverloaded:
		return "overloaded"
	case KindBadRequest:
		return "bad request"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is the error type every Origin returns.
type Error struct {
	Kind   Kind
	Server string // the server (URL, bucket, directory) that failed last; may be empty
	Err    error
}

func (e *Error) Error() string {
	if e.Server != "" {
		return fmt.Sprintf("origin %s: %s: %v", e.Server, e.Kind, e.Err)
	}
	return fmt.Sprintf("origin: %s: %v", e.Kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of err, or KindUnavailable when err is not an *Error.
func KindOf(err error) Kind {
	var oe *Error
	if errors.As(err, &oe) {
		return oe.Kind
	}
	return KindUnavailable
}
