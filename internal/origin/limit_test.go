package origin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingOrigin serves a small body and tracks how many responses are open at once.
type countingOrigin struct {
	inFlight, max atomic.Int64
	entered       chan struct{}
	gate          chan struct{}
}

func (c *countingOrigin) Fetch(req *http.Request) (*http.Response, error) {
	n := c.inFlight.Add(1)
	for m := c.max.Load(); n > m && !c.max.CompareAndSwap(m, n); m = c.max.Load() {
	}
	c.entered <- struct{}{}
	<-c.gate
	body := &closeHook{Reader: strings.NewReader("ok"), onClose: func() { c.inFlight.Add(-1) }}
	return newResponse(req, 200, nil, body, 2), nil
}

type closeHook struct {
	io.Reader
	once    sync.Once
	onClose func()
}

func (c *closeHook) Close() error { c.once.Do(c.onClose); return nil }

func TestLimitBoundsInFlight(t *testing.T) {
	const max, clients = 5, 50
	inner := &countingOrigin{entered: make(chan struct{}, clients), gate: make(chan struct{})}
	o := Limit(inner, max, time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			resp, err := o.Fetch(httptest.NewRequest("GET", "/x", nil))
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	for range max { // the first max requests get in while the gate is shut
		<-inner.entered
	}
	close(inner.gate)
	go func() {
		for range inner.entered {
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Fetch: %v", err)
	}
	if got := inner.max.Load(); got != max {
		t.Fatalf("max in flight = %d, want exactly %d", got, max)
	}
	if n := inner.inFlight.Load(); n != 0 {
		t.Fatalf("%d responses still counted open", n)
	}
}

func TestLimitOverloadAndRelease(t *testing.T) {
	inner := &countingOrigin{entered: make(chan struct{}, 10), gate: make(chan struct{})}
	close(inner.gate)
	o := Limit(inner, 1, 20*time.Millisecond)
	first, err := o.Fetch(httptest.NewRequest("GET", "/a", nil))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = o.Fetch(httptest.NewRequest("GET", "/b", nil))
	mustKind(t, err, KindOverloaded)
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("gave up after %v, before the 20ms wait", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = o.Fetch(httptest.NewRequest("GET", "/c", nil).WithContext(ctx))
	mustKind(t, err, KindOverloaded)

	first.Body.Close()
	first.Body.Close() // a second Close must not free a second slot
	second, err := o.Fetch(httptest.NewRequest("GET", "/d", nil))
	if err != nil {
		t.Fatalf("slot not released by Body.Close: %v", err)
	}
	_, err = o.Fetch(httptest.NewRequest("GET", "/f", nil))
	mustKind(t, err, KindOverloaded)
	second.Body.Close()
}

func TestLimitReleasesOnError(t *testing.T) {
	failing := FetchFunc(func(*http.Request) (*http.Response, error) {
		return nil, &Error{Kind: KindUnavailable, Err: io.ErrUnexpectedEOF}
	})
	o := Limit(failing, 1, 0)
	for range 3 {
		_, err := o.Fetch(httptest.NewRequest("GET", "/", nil))
		mustKind(t, err, KindUnavailable) // never KindOverloaded: the slot came back
	}
	if Limit(failing, 0, 0) == nil {
		t.Fatal("Limit with max 0 returned nil")
	}
}
