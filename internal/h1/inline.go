package h1

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// InlineHandler is a Handler that can tell, without waiting, whether it answers a request at
// once. With Server.EventLoops, plain TCP connections are served by a few event loops, the
// way nginx's workers serve theirs: a loop reads every connection that has input, runs
// ServeInline for each complete request in turn and writes the answers, with no goroutine
// switch per request. ServeInline must not block (no disk, no upstream, no lock held long):
// it answers and returns true, or returns false having written nothing, and the connection
// then moves to a goroutine of its own where ServeHTTP answers the same request and every
// later one.
type InlineHandler interface {
	http.Handler
	ServeInline(w http.ResponseWriter, r *http.Request) bool
}

// Inline reports whether w (or the writer it wraps, through Unwrap) belongs to a request an
// event loop is serving inline, which must not wait for anything.
func Inline(w http.ResponseWriter) bool {
	for range maxUnwrap {
		switch t := w.(type) {
		case *response:
			return t.c.inline
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
	return false
}

// inlineable says whether the request just prepared can be served by a loop: a GET or HEAD
// without a body, Expect or upgrade. Everything else moves to a goroutine.
func (c *conn) inlineable() bool {
	m := c.req.Method
	return (m == http.MethodGet || m == http.MethodHead) && c.body.err == io.EOF && !c.head.expectContinue &&
		c.req.Header["Upgrade"] == nil
}

// runInline is runHandler for a loop: served false means the handler declined and wrote
// nothing. A handler that declines after writing has answered: its response stands.
func (c *conn) runInline(h InlineHandler) (served, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.recoverPanic(v)
			served, ok = true, false
		}
	}()
	if h.ServeInline(&c.resp, c.req) {
		return true, true
	}
	w := &c.resp
	return w.commited || w.status != 0 || len(c.out.buf) > c.out.mark, true
}

// prefixConn is a connection a loop handed to a goroutine: the bytes the loop read and did
// not serve come first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

var errLoopRead = errors.New("h1: a loop's connection is not read through net.Conn")

// deadlineless are the net.Conn methods a loop's connection does not need: its loop enforces
// the timeouts.
type deadlineless struct{}

func (deadlineless) SetDeadline(time.Time) error      { return nil }
func (deadlineless) SetReadDeadline(time.Time) error  { return nil }
func (deadlineless) SetWriteDeadline(time.Time) error { return nil }
