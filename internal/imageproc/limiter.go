package imageproc

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// ErrBusy is Acquire's answer when the wait queue is full: the edge answers
// 503 with Retry-After instead of piling up work it cannot finish in time.
var ErrBusy = errors.New("imageproc: all image workers busy and the queue is full")

// Limiter bounds how many image jobs run at once (one per core: libvips
// runs each job on one thread) and how many may wait for a slot. Its zero
// value is not usable; make one with NewLimiter. It is safe for concurrent use.
type Limiter struct {
	slots chan struct{} // a token per running job

	mu      sync.Mutex
	waiting int
	queue   int
}

// NewLimiter lets workers jobs run and queue more wait. Zero values take the
// defaults: workers runtime.GOMAXPROCS(0), queue 4*workers; a negative queue
// means no waiting at all (busy as soon as every worker runs).
func NewLimiter(workers, queue int) *Limiter {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case queue == 0:
		queue = 4 * workers
	case queue < 0:
		queue = 0
	}
	return &Limiter{slots: make(chan struct{}, workers), queue: queue}
}

// Acquire waits for a worker slot. It answers ErrBusy at once when queue jobs
// are already waiting, and ctx's error when ctx ends first. The release
// function frees the slot; call it exactly once.
func (l *Limiter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	default:
	}
	l.mu.Lock()
	if l.waiting >= l.queue {
		l.mu.Unlock()
		return nil, ErrBusy
	}
	l.waiting++
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
	}()
	select {
	case l.slots <- struct{}{}:
		return l.releaser(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Limiter) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-l.slots }) }
}

// Stats reports the jobs running and waiting now.
func (l *Limiter) Stats() (running, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.slots), l.waiting
}
