package h1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxHeaderBytes bounds a request line plus header fields when
// Server.MaxHeaderBytes is zero.
const DefaultMaxHeaderBytes = 64 << 10

// Server serves HTTP/1.0 and HTTP/1.1 on the listeners given to Serve. The
// exported fields must be set before the first Serve and not changed after.
// A zero timeout means none.
type Server struct {
	Handler           http.Handler
	ReadHeaderTimeout time.Duration // to read a request line and header, from its first byte (or from the connection's start)
	ReadTimeout       time.Duration // to read a whole request, body included
	IdleTimeout       time.Duration // to wait for the next request on a kept-alive connection; 0 means ReadHeaderTimeout (then ReadTimeout)
	WriteTimeout      time.Duration // to write one response, from the end of its request header
	MaxHeaderBytes    int           // request line plus header; 0 means DefaultMaxHeaderBytes; beyond: 431 (414 within the request line) and close
	ErrorLog          *slog.Logger  // handler panics, accept errors; nil means slog.Default()
	// EventLoops, when the Handler is an InlineHandler, serves plain TCP connections from
	// this many event loops (Linux; elsewhere, and for TLS, goroutines); 0: goroutines only.
	// Each loop is an OS thread that holds a P while it waits: see loop.run.
	EventLoops int

	clock      func() time.Time         // Date header source; nil means time.Now (tests inject one)
	onWatchEnd func(gotByte, lost bool) // tests: called by a disconnect watch's reader as it ends
	date       dateCache

	shutting  atomic.Bool // Shutdown or Close was called
	mu        sync.Mutex
	ctx       context.Context // parent of every connection's context; cancelled by Close
	cancel    context.CancelFunc
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	drained   chan struct{} // closed when conns empties after Shutdown
	loops     loopSet
	inlined   atomic.Uint64 // requests event loops answered inline
	handoffs  atomic.Uint64 // connections event loops handed to goroutines
}

// InlineRequests is how many requests event loops have answered inline (EventLoops).
func (s *Server) InlineRequests() uint64 { return s.inlined.Load() }

// LoopHandoffs is how many connections event loops have handed to a goroutine of their own.
func (s *Server) LoopHandoffs() uint64 { return s.handoffs.Load() }

var errNoHandler = errors.New("h1: Server.Handler is nil")

// Validate reports a configuration Serve would refuse.
func (s *Server) Validate() error {
	if s.Handler == nil {
		return errNoHandler
	}
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"IdleTimeout": s.IdleTimeout, "WriteTimeout": s.WriteTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("h1: negative %s %v", name, d)
		}
	}
	if s.MaxHeaderBytes < 0 {
		return fmt.Errorf("h1: negative MaxHeaderBytes %d", s.MaxHeaderBytes)
	}
	if s.EventLoops < 0 {
		return fmt.Errorf("h1: negative EventLoops %d", s.EventLoops)
	}
	return nil
}

// Serve accepts connections on ln and serves each on its own goroutine. It
// returns http.ErrServerClosed once Shutdown or Close was called, or the
// listener's error otherwise. Serve closes ln when it returns.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if !s.track(ln) {
		ln.Close()
		return http.ErrServerClosed
	}
	defer s.untrack(ln)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			if !isTemporary(err) {
				return fmt.Errorf("h1: accept: %w", err)
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger().Error("h1: accept error; retrying", "err", err, "delay", delay)
			time.Sleep(delay) // back off while the process is out of descriptors
			continue
		}
		delay = 0
		if s.EventLoops > 0 && s.adopt(nc) {
			continue
		}
		if c := s.newConn(nc); c != nil {
			go c.serve()
		}
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Shutdown stops accepting, closes idle connections, and waits for the
// active ones to finish their response (each then closes, having said
// "Connection: close"), or for ctx to end, whose error it then returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutting.Store(true)
	s.mu.Lock()
	s.initLocked()
	s.closeListenersLocked()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
		if len(s.conns) == 0 {
			close(s.drained)
		}
	}
	drained := s.drained
	s.mu.Unlock()
	s.wakeLoops()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting, cancels every request's context and closes every
// connection at once, without waiting.
func (s *Server) Close() error {
	s.shutting.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	s.cancel()
	s.closeListenersLocked()
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.nc.Close()
	}
	s.wakeLoops()
	return nil
}

func (s *Server) initLocked() {
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
	}
}

func (s *Server) closeListenersLocked() {
	for ln := range s.listeners {
		ln.Close()
		delete(s.listeners, ln)
	}
}

func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if s.shutting.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.listeners[ln]; ok {
		ln.Close()
		delete(s.listeners, ln)
	}
}

// newConn registers nc, or closes it if the server is shutting down.
func (s *Server) newConn(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		nc.Close()
		return nil
	}
	c := getConn(s, nc, s.ctx)
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.drained != nil && len(s.conns) == 0 {
		select {
		case <-s.drained:
		default:
			close(s.drained)
		}
	}
}

func (s *Server) logger() *slog.Logger {
	if s.ErrorLog != nil {
		return s.ErrorLog
	}
	return slog.Default()
}

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// headerTimeout bounds the reading of a request line and header.
func (s *Server) headerTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return s.ReadTimeout
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return s.headerTimeout()
}
