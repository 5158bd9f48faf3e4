//go:build linux

package h1

import (
	"bytes"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A loop serves the connections handed to it from one goroutine: epoll says which have
// input, each complete request is answered inline (InlineHandler) and the answers leave in
// one write per connection and wakeup. Connections wait in the kernel's ready list in the
// order their input came, the way nginx's workers serve theirs, rather than in the run
// queues of the Go scheduler, where a goroutine woken by the netpoller can wait behind
// others for a whole time slice of a preempted thread (docs/BENCHMARKS.md 1.1).
//
// Only what cannot wait is served here: a request that is not a complete GET or HEAD in
// one read, or that the handler declines, moves its connection to a goroutine for good.
type loop struct {
	srv     *Server
	handler InlineHandler
	ep      int // epoll
	wake    int // eventfd: new connections, closes asked by other goroutines, shutdown

	mu      sync.Mutex
	adds    []*lconn
	kills   []*lconn
	stopped bool // run returned: nothing more is queued or signalled

	conns  map[int32]*lconn
	events []unix.EpollEvent
	now    int64 // unix nanoseconds at the last wakeup
	swept  int64
}

// lconn is a loop's connection; it is the net.Conn of its h1 conn, whose outbuf writes
// through it.
type lconn struct {
	deadlineless
	l         *loop
	fd        int
	c         *conn
	in        []byte // read, not yet served
	pending   []byte // answered, not yet taken by the kernel
	last      int64  // last input or output progress
	closing   bool   // close once pending is sent
	polledOut bool   // registered for EPOLLOUT instead of EPOLLIN
	killed    atomic.Bool
	local     net.Addr
	remote    net.Addr
}

// loopSet is a Server's loops, started with its first loop connection.
type loopSet struct {
	once  sync.Once
	loops []*loop
	next  atomic.Uint32
	err   error // starting them failed: connections go to goroutines

	started atomic.Pointer[[]*loop] // for wakeLoops, which may run before or during the start
}

const (
	loopReadBuffer = readBufferSize
	loopEvents     = 256
	loopTick       = time.Second // idle sweep and shutdown check
	// loopMaxPending bounds what a loop buffers for a slow reader (a pipelining client that
	// does not read): past it the connection stops being read until the kernel takes more.
	loopMaxPending = 1 << 20
)

// adopt hands a TCP connection to a loop; false leaves it to the caller (loops not running,
// the descriptor could not be taken).
func (s *Server) adopt(nc net.Conn) bool {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return false
	}
	h, ok := s.Handler.(InlineHandler)
	if !ok {
		return false
	}
	ls := &s.loops
	ls.once.Do(func() { ls.err = s.startLoops(h) })
	if ls.err != nil || len(ls.loops) == 0 {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	fd := -1
	if cerr := raw.Control(func(f uintptr) { fd, err = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0) }); cerr != nil || err != nil || fd < 0 {
		return false
	}
	lc := &lconn{fd: fd, local: tc.LocalAddr(), remote: tc.RemoteAddr(), in: make([]byte, 0, loopReadBuffer)}
	tc.Close() // the loop's duplicate keeps the socket; Go's netpoller lets go of its own
	l := ls.loops[ls.next.Add(1)%uint32(len(ls.loops))]
	lc.l = l
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		unix.Close(fd)
		return true
	}
	c := getConn(s, lc, s.ctx)
	c.inline = true
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	lc.c = c
	if !l.enqueue(lc, nil) {
		l.finish(lc) // the loop ended with the server
	}
	return true
}

// enqueue hands the loop a new connection or a close asked from another goroutine, unless
// the loop has ended.
func (l *loop) enqueue(add, kill *lconn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	if add != nil {
		l.adds = append(l.adds, add)
	}
	if kill != nil {
		l.kills = append(l.kills, kill)
	}
	l.signal()
	return true
}

func (s *Server) startLoops(h InlineHandler) error {
	var loops []*loop
	defer func() { s.loops.started.Store(&loops) }()
	for range s.EventLoops {
		l, err := newLoop(s, h)
		if err != nil {
			return err // the loops started end at shutdown; connections go to goroutines
		}
		loops = append(loops, l)
		go l.run()
	}
	s.loops.loops = loops
	return nil
}

// wakeLoops makes every loop look at the server's state (Shutdown, Close).
func (s *Server) wakeLoops() {
	if p := s.loops.started.Load(); p != nil {
		for _, l := range *p {
			l.enqueue(nil, nil)
		}
	}
}

func newLoop(s *Server, h InlineHandler) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, os.NewSyscallError("eventfd", err)
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(ep)
		unix.Close(wake)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &loop{srv: s, handler: h, ep: ep, wake: wake, conns: make(map[int32]*lconn),
		events: make([]unix.EpollEvent, loopEvents)}, nil
}

func (l *loop) signal() {
	one := [8]byte{1}
	unix.Write(l.wake, one[:])
}

// run is the loop, on an OS thread of its own like an nginx worker: it waits in epoll_wait
// and serves what is ready, never queued behind goroutines. A goroutine blocked in a system
// call keeps its P until the runtime's monitor takes it back (up to 10 ms on an idle
// process), so a process with loops needs that many Ps more than it has CPUs for its
// goroutines (the edge raises GOMAXPROCS). Waiting in Go's netpoller instead (the epoll
// descriptor registered there, polled without blocking) was measured: every wait then goes
// through the scheduler's run queues again, and the hit p99 at saturation tripled.
func (l *loop) run() {
	runtime.LockOSThread()
	defer func() {
		unix.Close(l.ep)
		unix.Close(l.wake)
	}()
	for {
		n, err := unix.EpollWait(l.ep, l.events, int(loopTick/time.Millisecond))
		if err != nil && err != unix.EINTR {
			l.fail(os.NewSyscallError("epoll_wait", err))
			return
		}
		l.now = time.Now().UnixNano()
		for i := range max(n, 0) {
			ev := &l.events[i]
			if int(ev.Fd) == l.wake {
				l.drainWake()
				continue
			}
			lc := l.conns[ev.Fd]
			if lc == nil {
				continue
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				l.flushPending(lc)
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 && !lc.polledOut && l.conns[ev.Fd] == lc {
				l.readable(lc)
			}
		}
		if l.now-l.swept >= int64(loopTick) {
			l.swept = l.now
			l.sweep()
		}
		if l.srv.shutting.Load() {
			l.closeIdle()
			if len(l.conns) == 0 && l.stop() {
				return
			}
		}
	}
}

// fail ends a loop whose epoll broke, and its connections with it.
func (l *loop) fail(err error) {
	l.srv.logger().Error("h1: event loop failed; its connections are closed", "err", err)
	l.closeAll()
}

func (l *loop) drainWake() {
	var b [8]byte
	unix.Read(l.wake, b[:])
	l.mu.Lock()
	adds, kills := l.adds, l.kills
	l.adds, l.kills = nil, nil
	l.mu.Unlock()
	for _, lc := range adds {
		lc.last = l.now
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, lc.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(lc.fd)}); err != nil {
			l.finish(lc)
			continue
		}
		l.conns[int32(lc.fd)] = lc
	}
	for _, lc := range kills {
		if l.conns[int32(lc.fd)] == lc {
			l.close(lc)
		}
	}
}

// stop ends the loop unless connections were handed to it meanwhile.
func (l *loop) stop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.adds) > 0 || len(l.kills) > 0 {
		return false
	}
	l.stopped = true
	return true
}

// readable reads what the connection has and serves the complete requests in it.
func (l *loop) readable(lc *lconn) {
	for {
		if len(lc.in) == cap(lc.in) {
			l.migrate(lc) // a header block larger than the buffer: the goroutine reads it
			return
		}
		n, err := unix.Read(lc.fd, lc.in[len(lc.in):cap(lc.in)])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case n <= 0 || err != nil:
			l.close(lc) // the client closed or reset: no answer can reach it
			return
		}
		lc.in = lc.in[:len(lc.in)+n]
		lc.last = l.now
		l.serve(lc)
		return
	}
}

// serve answers the complete requests at the head of lc.in, in order, and sends the answers.
func (l *loop) serve(lc *lconn) {
	c, s := lc.c, l.srv
	for len(lc.in) > 0 && !lc.closing && len(lc.pending) < loopMaxPending {
		p := lc.in
		if p[0] == '\r' || p[0] == '\n' {
			l.migrate(lc) // leading empty lines: the goroutine's reader skips them
			return
		}
		i := bytes.Index(p, crlfcrlf)
		if i < 0 {
			l.migrate(lc) // a request that came in pieces: read on with deadlines
			return
		}
		n := i + 4
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			l.close(lc) // Shutdown or Close took it
			return
		}
		if n > s.maxHeaderBytes() {
			c.state.Store(stateIdle)
			l.migrate(lc) // the goroutine answers 431
			return
		}
		c.out.acquire()
		c.out.startResponse()
		if err := c.prepare(c.keep(p[:n])); err != nil || !c.inlineable() {
			c.state.Store(stateIdle)
			l.migrate(lc) // the goroutine parses it again and answers (400, 501, a body...)
			return
		}
		served, ok := c.runInline(l.handler)
		if !served {
			c.state.Store(stateIdle)
			l.migrate(lc)
			return
		}
		s.inlined.Add(1)
		if ok {
			c.resp.finish()
		}
		lc.in = lc.in[:copy(lc.in, lc.in[n:])]
		if !ok || c.resp.closeAfter || c.out.err != nil || s.shutting.Load() {
			lc.closing = true
		}
		if !c.state.CompareAndSwap(stateActive, stateIdle) {
			lc.closing = true // Close while the request ran
		}
	}
	l.send(lc)
}

// send writes the buffered answers; what the kernel does not take waits for EPOLLOUT.
func (l *loop) send(lc *lconn) {
	c := lc.c
	c.out.flush()
	c.out.release()
	if c.out.err != nil {
		l.close(lc)
		return
	}
	if len(lc.pending) > 0 {
		l.pollOut(lc, true)
		return
	}
	if lc.closing {
		l.close(lc)
	}
}

// Write is the outbuf's write: straight to the socket, the rest kept for EPOLLOUT.
func (lc *lconn) Write(p []byte) (int, error) {
	if len(lc.pending) == 0 {
		for len(p) > 0 {
			n, err := unix.Write(lc.fd, p)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				return 0, err
			}
			p = p[n:]
			lc.last = lc.l.now
		}
	}
	if len(p) > 0 {
		lc.pending = append(lc.pending, p...)
	}
	return len(p), nil
}

func (l *loop) flushPending(lc *lconn) {
	p := lc.pending
	lc.pending = nil
	if _, err := lc.Write(p); err != nil {
		l.close(lc)
		return
	}
	if len(lc.pending) > 0 {
		return
	}
	lc.pending = p[:0]
	if cap(lc.pending) > 64<<10 {
		lc.pending = nil
	}
	if lc.closing {
		l.close(lc)
		return
	}
	l.pollOut(lc, false)
	if len(lc.in) > 0 {
		l.serve(lc) // pipelined requests held back while the answers waited
	}
}

func (l *loop) pollOut(lc *lconn, out bool) {
	if lc.polledOut == out {
		return
	}
	lc.polledOut = out
	ev := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if out {
		ev = unix.EPOLLOUT
	}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, lc.fd, &unix.EpollEvent{Events: ev, Fd: int32(lc.fd)}); err != nil {
		l.close(lc)
	}
}

// migrate moves a connection to a goroutine of its own, with the input the loop has not
// served and the answers the kernel has not taken yet.
func (l *loop) migrate(lc *lconn) {
	s := l.srv
	delete(l.conns, int32(lc.fd))
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, lc.fd, nil)
	c := lc.c
	c.out.flush() // answers to earlier pipelined requests
	c.out.release()
	f := os.NewFile(uintptr(lc.fd), "h1-loop")
	nc, err := net.FileConn(f) // a descriptor of its own, in Go's netpoller
	f.Close()
	lc.fd = -1
	if err != nil {
		s.logger().Error("h1: could not move a connection off its loop", "err", err)
		l.finish(lc)
		return
	}
	pending := lc.pending
	pc := &prefixConn{Conn: nc, prefix: append([]byte(nil), lc.in...)}
	gc := s.newConn(pc) // registered before the loop's conn is forgotten: Shutdown waits for one of them
	l.finish(lc)
	s.handoffs.Add(1)
	if gc == nil {
		return
	}
	go func() {
		if len(pending) > 0 {
			if _, err := nc.Write(pending); err != nil {
				gc.linger = false
				gc.close()
				return
			}
		}
		gc.serve()
	}()
}

// sweep closes connections idle past the idle timeout and those whose client has not taken
// an answer within the write timeout (or the idle timeout, with none set).
func (l *loop) sweep() {
	s := l.srv
	idle, write := s.idleTimeout(), s.WriteTimeout
	if write == 0 {
		write = idle
	}
	for _, lc := range l.conns {
		d := time.Duration(l.now - lc.last)
		switch {
		case len(lc.pending) > 0 && write > 0 && d > write:
			l.close(lc)
		case len(lc.pending) == 0 && idle > 0 && d > idle:
			l.close(lc)
		}
	}
}

func (l *loop) closeIdle() {
	for _, lc := range l.conns {
		if len(lc.pending) == 0 {
			l.close(lc)
		} else {
			lc.closing = true
		}
	}
}

func (l *loop) closeAll() {
	for _, lc := range l.conns {
		l.close(lc)
	}
	l.mu.Lock()
	adds := l.adds
	l.adds, l.kills, l.stopped = nil, nil, true
	l.mu.Unlock()
	for _, lc := range adds {
		l.finish(lc)
	}
}

// close ends a connection on its loop.
func (l *loop) close(lc *lconn) {
	if lc.fd < 0 {
		return
	}
	delete(l.conns, int32(lc.fd))
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, lc.fd, nil)
	if len(lc.in) > 0 {
		unix.Shutdown(lc.fd, unix.SHUT_WR) // unread input: a plain close would reset the answer
	}
	unix.Close(lc.fd)
	lc.fd = -1
	l.finish(lc)
}

// finish releases the h1 conn of a connection that left the loop.
func (l *loop) finish(lc *lconn) {
	if lc.fd >= 0 {
		unix.Close(lc.fd)
		lc.fd = -1
	}
	c := lc.c
	c.state.Store(stateClosed)
	c.out.release()
	c.cancel()
	l.srv.forget(c)
	c.recycle()
	lc.c, lc.in, lc.pending = nil, nil, nil
}

// Read is never called: the loop reads the socket itself.
func (lc *lconn) Read([]byte) (int, error) { return 0, errLoopRead }

// Close asks the loop to close the connection (Shutdown and Close call it from their own
// goroutine).
func (lc *lconn) Close() error {
	if lc.killed.Swap(true) {
		return nil
	}
	lc.l.enqueue(nil, lc) // a stopped loop has closed it already
	return nil
}

func (lc *lconn) LocalAddr() net.Addr  { return lc.local }
func (lc *lconn) RemoteAddr() net.Addr { return lc.remote }
