package origin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// ErrOverloaded is wrapped by the *Error (KindOverloaded) of a request that found no free slot.
var ErrOverloaded = errors.New("concurrency limit reached")

// Limit lets at most max requests to o be in flight. A request waits up to wait (or until its
// context ends) for a slot, then fails with an *Error of KindOverloaded rather than piling up
// behind a slow origin. The slot is held until the response body is closed, because a
// streaming body still occupies the origin's connection. max <= 0 returns o unchanged.
func Limit(o Origin, max int, wait time.Duration) Origin {
	if max <= 0 {
		return o
	}
	return &limited{origin: o, slots: make(chan struct{}, max), wait: wait}
}

type limited struct {
	origin Origin
	slots  chan struct{}
	wait   time.Duration
}

// Unwrap returns the limited origin, for optional capabilities such as Health.
func (l *limited) Unwrap() Origin { return l.origin }

func (l *limited) Fetch(req *http.Request) (*http.Response, error) {
	if err := l.acquire(req); err != nil {
		return nil, err
	}
	resp, err := l.origin.Fetch(req)
	if err != nil {
		l.release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: l.release}
	return resp, nil
}

func (l *limited) acquire(req *http.Request) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.wait <= 0 {
		return &Error{Kind: KindOverloaded, Err: ErrOverloaded}
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return &Error{Kind: KindOverloaded, Err: fmt.Errorf("%w after waiting %v", ErrOverloaded, l.wait)}
	case <-req.Context().Done():
		return &Error{Kind: KindOverloaded, Err: fmt.Errorf("%w: %w", ErrOverloaded, req.Context().Err())}
	}
}

func (l *limited) release() { <-l.slots }

// releasingBody gives the slot back on the first Close; later Closes only close the body.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
