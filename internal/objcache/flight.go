package objcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// flights coalesces fills: one per cache key, however many clients miss on it at once. Waiters
// block on a channel that the leader closes, so they wake the moment the result exists.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	res  Result // set before done is closed

	// For a made variant (joinMade): the clients still waiting for it, and how to stop the
	// work when none is left.
	interested atomic.Int32
	ctx        context.Context
	abandon    context.CancelCauseFunc
}

func (fs *flights) join(key string) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f = fs.m[key]; f != nil {
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{})}
	fs.m[key] = f
	return f, true
}

// joinMade is join for work the node does itself (a variant made from a cached source). The
// work runs under f.ctx: detached from any one client, since others may wait on it, but
// ended with ErrAbandoned once every client that wanted it has gone, so that abandoned work
// does not keep a worker or a queue place.
func (fs *flights) joinMade(key string, ctx context.Context) (f *flight, leader bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f = fs.m[key]; f != nil {
		if f.abandon != nil {
			f.interested.Add(1)
		}
		return f, false
	}
	if fs.m == nil {
		fs.m = make(map[string]*flight)
	}
	f = &flight{done: make(chan struct{})}
	f.ctx, f.abandon = context.WithCancelCause(context.WithoutCancel(ctx))
	f.interested.Store(1)
	fs.m[key] = f
	return f, true
}

// leave notes that one client of a made variant is gone.
func (f *flight) leave() {
	if f.abandon != nil && f.interested.Add(-1) == 0 {
		f.abandon(ErrAbandoned)
	}
}

// ErrAbandoned ends work every client gave up on.
var ErrAbandoned = errors.New("every client that asked went away")

// finish publishes res and wakes the waiters. Requests that arrive until the flight is
// forgotten take the same result at once. It is forgotten when the object is in the store:
// now, or for a body still streaming into the store, by the copy when it ends (else late
// arrivals would miss and fetch the object again).
func (fs *flights) finish(key string, f *flight, res Result) {
	res.Body.Obj = nil // the leader's handle is its own
	f.res = res
	close(f.done)
	if res.Body.W == nil {
		fs.forget(key, f)
	}
}

func (fs *flights) forget(key string, f *flight) {
	fs.mu.Lock()
	if fs.m[key] == f {
		delete(fs.m, key)
	}
	fs.mu.Unlock()
}

// inFlight is how many flights are registered.
func (fs *flights) inFlight() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.m)
}
