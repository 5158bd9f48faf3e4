package h1

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DisconnectWatcher is implemented by the ResponseWriter h1 passes to
// handlers. A handler about to wait a long time (for a worker, for work
// another request leads) calls WatchDisconnect so that r.Context() is
// cancelled if the client goes away meanwhile; see response.WatchDisconnect.
// Most handlers should call the package-level WatchDisconnect, which looks
// through wrapping writers.
type DisconnectWatcher interface {
	WatchDisconnect() (stop func())
}

var _ DisconnectWatcher = (*response)(nil)

// maxUnwrap bounds the walk through wrapping writers, in case one unwraps
// to itself.
const maxUnwrap = 16

// WatchDisconnect starts watching w's connection for a client that goes
// away, if w is (or wraps, through Unwrap() http.ResponseWriter) an h1
// ResponseWriter, and returns the function that ends the watch. For any
// other writer, net/http's included (which notices disconnects on its own
// once the request body is consumed), it returns a stop that does nothing.
//
// The usual call, in a handler, around a long wait on r.Context():
//
//	stop := h1.WatchDisconnect(w)
//	defer stop()
func WatchDisconnect(w http.ResponseWriter) (stop func()) {
	for range maxUnwrap {
		switch t := w.(type) {
		case DisconnectWatcher:
			return t.WatchDisconnect()
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return noStop
		}
	}
	return noStop
}

func noStop() {}

// watch is a connection's opt-in background read: one goroutine reading one
// byte, so that EOF (or a reset) is seen while the handler waits rather than
// when the server next reads. Only the connection's goroutine (the handler's)
// starts and ends it; the reader goroutine owns buf, gotByte and lost until
// wg.Wait returns.
type watch struct {
	active   bool        // a reader goroutine is running or has not been waited for
	stopping atomic.Bool // the deadline that ends the read is ours, not a failure
	wg       sync.WaitGroup

	buf     [1]byte
	gotByte bool // buf holds the first byte of the next request, not yet read
	lost    bool // the read failed: the client is gone and the context cancelled
}

// aLongTimeAgo is a read deadline that makes a blocked read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// WatchDisconnect starts a background read on the connection, for a handler
// about to wait a long time: if the client closes the connection (EOF) or
// it fails, r.Context() is cancelled (it is the connection's context, and
// the connection is dead) and the connection is closed after the response.
// A byte that arrives instead is the start of a pipelined request: it is
// kept for the next request and the watch ends without cancelling, the
// client being alive. A client that half-closes its side after sending the
// request is taken as gone, as net/http does.
//
// It watches nothing, and returns a stop that does nothing, when the
// client is known to be alive (bytes of a next request are already
// buffered), when the request body has not been read to its end (the
// watch would take its bytes), or after the handler returned.
//
// stop ends the watch and waits for the reader goroutine; it is idempotent.
// Like the ResponseWriter, it belongs to the handler's goroutine and must
// not be called after ServeHTTP returns; a watch the handler does not stop
// is stopped by the server when the handler returns. Requests that never
// call WatchDisconnect pay nothing for it.
func (w *response) WatchDisconnect() (stop func()) {
	c := w.c
	if w.done || c.inline || c.watch.active || c.watch.gotByte || c.br.Buffered() > 0 || c.body.err != io.EOF {
		return noStop
	}
	c.startWatch()
	return c.stopFn
}

func (c *conn) startWatch() {
	ww := &c.watch
	ww.active, ww.lost = true, false
	ww.stopping.Store(false)
	// The header deadline may still be armed (no read was due until the
	// next request): the watch waits for as long as the handler does.
	c.setReadDeadline(time.Time{})
	ww.wg.Add(1)
	go c.watchRead()
}

// watchRead is the reader goroutine.
func (c *conn) watchRead() {
	ww := &c.watch
	defer ww.wg.Done()
	n, err := c.nc.Read(ww.buf[:])
	switch {
	case n > 0:
		ww.gotByte = true
	case ww.stopping.Load() || deadlineExceeded(err):
		// Our own deadline, or one a handler set through
		// ResponseController: not a sign the client left.
	default:
		ww.lost = true
		c.cancel()
	}
	if hook := c.srv.onWatchEnd; hook != nil {
		hook(ww.gotByte, ww.lost)
	}
}

// endWatch stops the reader goroutine, if one runs, and waits for it. The
// connection is left with no read deadline, as the watch found it; the
// next read the server makes sets its own.
func (c *conn) endWatch() {
	ww := &c.watch
	if !ww.active {
		return
	}
	ww.active = false
	ww.stopping.Store(true)
	c.nc.SetReadDeadline(aLongTimeAgo)
	ww.wg.Wait()
	c.setReadDeadline(time.Time{})
	if ww.lost {
		c.resp.closeAfter = true
	}
}

func deadlineExceeded(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
