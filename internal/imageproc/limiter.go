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
// runs each job on one thread) and how many may wait for a slot, and shares
// the workers fairly between clients by the jobs' estimated cost, as
// start-time fair queueing shares a link: each job is tagged with the
// virtual time its client's earlier jobs reach (at least the current one),
// and a freed worker takes the waiting job with the smallest tag. A client
// that has used the workers a lot waits behind one that has not; one that
// comes back after a pause starts at the current virtual time, with no
// credit saved. When the queue is full, a client with more jobs waiting
// than the newcomer gives up its newest one. So a flood of distinct
// variants from one client queues behind itself, and another client's job
// waits for one worker to free at most. Its zero value is not usable; make
// one with NewLimiter. It is safe for concurrent use.
type Limiter struct {
	workers, queue int

	mu      sync.Mutex
	running int
	waiting int
	vnow    Cost               // the start tag of the job started last
	seq     uint64             // arrivals, to break ties between equal tags first come, first served
	clients map[string]*client // every client with a job running or waiting
}

// client is one client's share: its running jobs, its waiters (oldest first) and the
// virtual time its jobs so far reach.
type client struct {
	key    string
	jobs   int
	finish Cost
	queue  []*waiter
}

type waiter struct {
	c     *client
	cost  Cost
	start Cost // virtual start tag
	seq   uint64
	ready chan error // buffered: nil when granted a worker, ErrBusy when pushed out
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
	return &Limiter{workers: workers, queue: queue, clients: make(map[string]*client)}
}

// Acquire waits for a worker for a job of client (an address, say; "" is one anonymous
// client) estimated at cost. It answers ErrBusy when the queue is full and the client
// cannot take another's place, or later when a lighter client takes its place; ctx's error
// when ctx ends first. The release function frees the worker; call it exactly once.
func (l *Limiter) Acquire(ctx context.Context, clientKey string, cost Cost) (release func(), err error) {
	l.mu.Lock()
	c := l.clients[clientKey]
	if c == nil {
		c = &client{key: clientKey}
		l.clients[clientKey] = c
	}
	if l.running < l.workers {
		l.start(l.tag(c, cost))
		l.mu.Unlock()
		return l.releaser(c), nil
	}
	if l.waiting >= l.queue && !l.pushOut(c) {
		l.forget(c)
		l.mu.Unlock()
		return nil, ErrBusy
	}
	w := l.tag(c, cost)
	c.queue = append(c.queue, w)
	l.waiting++
	l.mu.Unlock()

	select {
	case err := <-w.ready:
		if err != nil {
			return nil, err
		}
		return l.releaser(c), nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.unqueue(w) {
			l.forget(c)
			return nil, ctx.Err()
		}
		// Granted or pushed out while ctx ended: hand a granted worker straight back.
		if err := <-w.ready; err == nil {
			l.finish(c)
		}
		return nil, ctx.Err()
	}
}

// pushOut makes room for one waiter of c by refusing the newest waiter of the client with
// the most waiting, when that client has more waiting than c would after joining.
func (l *Limiter) pushOut(c *client) bool {
	var victim *client
	for _, o := range l.clients {
		if victim == nil || len(o.queue) > len(victim.queue) {
			victim = o
		}
	}
	if victim == nil || victim == c || len(victim.queue) <= len(c.queue)+1 {
		return false
	}
	w := victim.queue[len(victim.queue)-1]
	victim.queue = victim.queue[:len(victim.queue)-1]
	victim.finish = w.start // the refused job's share is given back
	l.waiting--
	w.ready <- ErrBusy
	l.forget(victim)
	return true
}

// tag makes c's next job: it starts where c's earlier jobs end, or now. l.mu is held.
func (l *Limiter) tag(c *client, cost Cost) *waiter {
	l.seq++
	w := &waiter{c: c, cost: max(cost, 1), start: max(l.vnow, c.finish), seq: l.seq, ready: make(chan error, 1)}
	c.finish = w.start + w.cost
	return w
}

// start gives w's client a worker. l.mu is held.
func (l *Limiter) start(w *waiter) {
	l.running++
	w.c.jobs++
	l.vnow = max(l.vnow, w.start)
}

// finish frees a worker of c and hands it to the waiting job with the smallest tag. l.mu is
// held.
func (l *Limiter) finish(c *client) {
	l.running--
	c.jobs--
	l.forget(c)
	for l.running < l.workers && l.waiting > 0 {
		next := l.next()
		w := next.queue[0]
		next.queue = next.queue[1:]
		l.waiting--
		l.start(w)
		w.ready <- nil
	}
}

// next is the client whose oldest waiting job has the smallest start tag.
func (l *Limiter) next() *client {
	var best *client
	for _, c := range l.clients {
		if len(c.queue) == 0 {
			continue
		}
		if h := c.queue[0]; best == nil || h.start < best.queue[0].start ||
			h.start == best.queue[0].start && h.seq < best.queue[0].seq {
			best = c
		}
	}
	return best
}

// unqueue removes w from its client's queue, reporting whether it was still there.
func (l *Limiter) unqueue(w *waiter) bool {
	q := w.c.queue
	for i, x := range q {
		if x == w {
			if i == len(q)-1 {
				w.c.finish = w.start // the newest job gone: its share is given back
			}
			w.c.queue = append(q[:i:i], q[i+1:]...)
			l.waiting--
			return true
		}
	}
	return false
}

// forget drops a client with nothing running or waiting. l.mu is held.
func (l *Limiter) forget(c *client) {
	if c.jobs == 0 && len(c.queue) == 0 && l.clients[c.key] == c {
		delete(l.clients, c.key)
	}
}

func (l *Limiter) releaser(c *client) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.finish(c)
			l.mu.Unlock()
		})
	}
}

// Stats reports the jobs running and waiting now.
func (l *Limiter) Stats() (running, waiting int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.running, l.waiting
}
