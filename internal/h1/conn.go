package h1

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	readBufferSize = 4 << 10
	// arenaSize is the block request headers are copied into; strings
	// handed to handlers point into it and it is never overwritten, so one
	// allocation serves dozens of requests.
	arenaSize = 16 << 10
	// maxLeadingCRLF is how many empty lines may precede a request line
	// (RFC 9112 §2.2 asks servers to ignore at least one).
	maxLeadingCRLF = 4
	// lingerTimeout bounds the wait for a client to read an error response
	// before the connection is reset (closing with unread input sends RST,
	// which can destroy the response in flight).
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 256 << 10
)

const (
	stateIdle int32 = iota // between requests or reading a request header
	stateActive
	stateClosed
)

var connPool = sync.Pool{New: func() any {
	c := &conn{}
	c.br = bufio.NewReaderSize(connReader{c}, readBufferSize)
	c.head.header = make(http.Header, 16)
	c.resp.header = make(http.Header, 8)
	c.req = new(http.Request)
	c.stopFn = c.endWatch // bound once: WatchDisconnect returns it without allocating
	return c
}}

// conn is one client connection and everything reused by its requests.
type conn struct {
	srv        *Server
	nc         net.Conn
	br         *bufio.Reader
	out        outbuf
	remoteAddr string
	cancel     context.CancelFunc
	base       *http.Request // zero but for the connection's context
	state      atomic.Int32

	req   *http.Request
	url   url.URL
	head  head
	body  body
	resp  response
	arena []byte
	hdr   []byte // scratch for a header block that arrives in pieces

	scratch          [24]byte
	readDeadlineSet  bool
	deadlinesTouched bool
	linger           bool // close with lingerClose
	inline           bool // served by a loop (loop_linux.go): the handler must not wait

	watch  watch  // opt-in disconnect watch; see response.WatchDisconnect
	stopFn func() // c.endWatch
}

func getConn(s *Server, nc net.Conn, parent context.Context) *conn {
	c := connPool.Get().(*conn)
	c.srv, c.nc = s, nc
	c.br.Reset(connReader{c})
	c.out = outbuf{nc: nc}
	c.remoteAddr = nc.RemoteAddr().String()
	ctx := context.WithValue(parent, http.LocalAddrContextKey, nc.LocalAddr())
	ctx, c.cancel = context.WithCancel(ctx)
	c.base = (&http.Request{}).WithContext(ctx)
	c.state.Store(stateIdle)
	c.readDeadlineSet, c.deadlinesTouched, c.linger, c.inline = false, false, false, false
	c.watch.gotByte, c.watch.lost = false, false
	return c
}

func (c *conn) recycle() {
	c.srv, c.nc, c.base, c.cancel = nil, nil, nil, nil
	*c.req = http.Request{}
	c.url = url.URL{}
	clear(c.head.header)
	c.head = head{header: c.head.header, values: c.head.values[:0]}
	clear(c.head.values[:cap(c.head.values)])
	c.body = body{}
	c.resp.reset(c, c.req, false)
	c.resp.c, c.resp.req = nil, nil
	c.out = outbuf{}
	connPool.Put(c)
}

// connReader is the reader under the connection's bufio.Reader. Whatever
// the server is about to wait for, the client may be waiting for the
// responses already buffered: send them first.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	if w := &r.c.watch; w.active || w.gotByte {
		return r.c.readWatched(p)
	}
	if len(r.c.out.buf) > 0 {
		if err := r.c.out.flush(); err != nil {
			return 0, err
		}
	}
	return r.c.nc.Read(p)
}

// readWatched ends a watch still running (a read now would race with it)
// and returns the byte it read, if any, before reading on.
func (c *conn) readWatched(p []byte) (int, error) {
	c.endWatch()
	if !c.watch.gotByte || len(p) == 0 {
		return connReader{c}.Read(p)
	}
	c.watch.gotByte = false
	p[0] = c.watch.buf[0]
	return 1, nil
}

func (c *conn) serve() {
	defer c.close()
	for first := true; ; first = false {
		block, err := c.nextRequest(first)
		if err != nil {
			c.refuse(err)
			return
		}
		if serr := c.prepare(block); serr != nil {
			c.refuse(serr)
			return
		}
		if !c.state.CompareAndSwap(stateIdle, stateActive) {
			return // Shutdown closed the connection under us
		}
		if !c.serveRequest() {
			return
		}
		c.state.Store(stateIdle)
		if c.srv.shutting.Load() {
			return
		}
	}
}

// serveRequest runs the handler and completes the response; it reports
// whether the connection may carry another request.
func (c *conn) serveRequest() bool {
	c.setRequestDeadlines()
	ok := c.runHandler()
	c.endWatch() // one the handler forgot
	if !ok {
		return false
	}
	c.resp.finish()
	if c.resp.closeAfter || c.out.err != nil || c.body.err != io.EOF {
		c.linger = c.body.err != io.EOF || c.br.Buffered() > 0
		return false
	}
	return true
}

func (c *conn) runHandler() (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.recoverPanic(v)
			ok = false
		}
	}()
	c.srv.Handler.ServeHTTP(&c.resp, c.req)
	return true
}

// recoverPanic drops the unsent part of the response. http.ErrAbortHandler
// is the handler's way to break the transfer on purpose; any other panic
// is a bug, logged with its stack, and answered with a 500 when the client
// has seen nothing of the response yet.
func (c *conn) recoverPanic(v any) {
	w := &c.resp
	w.done = true
	c.out.dropResponse()
	c.linger = true
	if v == http.ErrAbortHandler {
		return
	}
	c.srv.logger().Error("h1: handler panic", "remote", c.remoteAddr,
		"uri", c.req.RequestURI, "panic", v, "stack", string(debug.Stack()))
	if !w.commited {
		c.out.writeString("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}
}

func (c *conn) close() {
	c.endWatch() // the handler may have left by runtime.Goexit
	if c.linger {
		c.lingerClose()
	} else {
		c.out.flush()
		c.nc.Close()
	}
	c.out.release()
	c.cancel()
	c.srv.forget(c)
	c.recycle()
}

// lingerClose sends what is buffered, half-closes, and reads (and drops)
// until the client closes too, so that input the server did not read does
// not turn the close into a reset that could destroy the response.
func (c *conn) lingerClose() {
	c.out.flush()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.CopyN(io.Discard, c.nc, lingerBytes)
	}
	c.nc.Close()
}

// refuse answers a request the server will not pass to the handler. Read
// errors (the client went away, a timeout) end the connection silently.
func (c *conn) refuse(err error) {
	serr, ok := err.(*statusError)
	if !ok {
		return
	}
	c.out.acquire()
	c.out.dropResponse()
	body := serr.Error() + "\n"
	c.writeStatusLine(serr.code)
	c.out.write(c.srv.date.line(c.srv.now()))
	c.out.writeString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	c.out.write(appendInt(c.scratch[:0], len(body)))
	c.out.writeString("\r\n\r\n")
	c.out.writeString(body)
	c.linger = true
}

func (c *conn) setReadDeadline(t time.Time) {
	c.nc.SetReadDeadline(t)
	c.readDeadlineSet = !t.IsZero()
}

// nextRequest returns the next request's line and header block, waiting
// for it under IdleTimeout (after the first request) and reading it under
// ReadHeaderTimeout.
func (c *conn) nextRequest(first bool) (string, error) {
	if !first && c.br.Buffered() == 0 {
		if err := c.waitIdle(); err != nil {
			return "", err
		}
	}
	c.out.acquire()
	c.out.startResponse()
	if n := c.bufferedBlock(); n > 0 {
		p, _ := c.br.Peek(n)
		s := c.keep(p)
		c.br.Discard(n)
		return s, nil
	}
	if d := c.srv.headerTimeout(); d > 0 {
		c.setReadDeadline(time.Now().Add(d))
	} else if c.readDeadlineSet {
		c.setReadDeadline(time.Time{})
	}
	return c.readBlock()
}

// waitIdle waits for the first byte of the next request without holding a
// write buffer.
func (c *conn) waitIdle() error {
	if err := c.out.flush(); err != nil {
		return err
	}
	c.out.release()
	if d := c.srv.idleTimeout(); d > 0 {
		c.setReadDeadline(time.Now().Add(d))
	} else if c.readDeadlineSet {
		c.setReadDeadline(time.Time{})
	}
	_, err := c.br.Peek(1)
	return err
}

var crlfcrlf = []byte("\r\n\r\n")

// bufferedBlock returns the length of a complete header block at the head
// of the read buffer, or 0: the common case, one request per segment, then
// costs one search and one copy.
func (c *conn) bufferedBlock() int {
	p, _ := c.br.Peek(c.br.Buffered())
	if len(p) < 4 || p[0] == '\r' || p[0] == '\n' {
		return 0
	}
	i := bytes.Index(p, crlfcrlf)
	if i < 0 || i+4 > c.srv.maxHeaderBytes() {
		return 0
	}
	return i + 4
}

// readBlock reads a header block line by line: the slow path for blocks
// that arrive in pieces, exceed the read buffer, or are malformed.
func (c *conn) readBlock() (string, error) {
	limit := c.srv.maxHeaderBytes()
	buf, lineStart, empties := c.hdr[:0], 0, 0
	defer func() { c.hdr = buf[:0] }()
	for {
		frag, err := c.br.ReadSlice('\n')
		if len(buf)+len(frag) > limit {
			if lineStart == 0 {
				return "", errURITooLong
			}
			return "", errHeaderTooLarge
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		if line := buf[lineStart:]; len(line) <= 2 && (len(line) == 1 || line[0] == '\r') {
			if lineStart > 0 {
				return c.keep(buf), nil
			}
			if empties++; empties > maxLeadingCRLF {
				return "", errLeadingCRLF
			}
			buf = buf[:0]
			continue
		}
		lineStart = len(buf)
	}
}

// keep copies a header block into the arena and returns it as a string
// that stays valid for as long as anyone holds it.
func (c *conn) keep(p []byte) string {
	if len(p) > arenaSize/4 {
		return string(p)
	}
	if cap(c.arena)-len(c.arena) < len(p) {
		c.arena = make([]byte, 0, arenaSize)
	}
	start := len(c.arena)
	c.arena = append(c.arena, p...)
	return unsafe.String(&c.arena[start], len(p))
}

// prepare parses block into the connection's request and resets the
// response.
func (c *conn) prepare(block string) error {
	h := &c.head
	clear(h.header)
	*h = head{header: h.header, values: h.values[:0]}
	if err := parseHead(block, h); err != nil {
		return err
	}
	authority, err := parseTarget(h.method, h.target, &c.url)
	if err != nil {
		return err
	}
	r := c.req
	*r = *c.base
	r.Method, r.URL, r.RequestURI = h.method, &c.url, h.target
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, h.minor
	if h.minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	r.Header, r.Host, r.RemoteAddr, r.Close = h.header, h.host, c.remoteAddr, h.close
	if authority != "" {
		r.Host = authority
	}
	c.prepareBody(r)
	c.resp.reset(c, r, h.close || c.srv.shutting.Load())
	return nil
}

var chunkedCoding = []string{"chunked"}

func (c *conn) prepareBody(r *http.Request) {
	h := &c.head
	switch {
	case h.chunked:
		c.body.reset(c, 0, true, h.expectContinue)
		r.Body, r.ContentLength = &c.body, -1
		r.TransferEncoding = chunkedCoding[:1:1]
	case h.contentLength > 0:
		c.body.reset(c, h.contentLength, false, h.expectContinue)
		r.Body, r.ContentLength = &c.body, h.contentLength
	default:
		c.body.reset(c, 0, false, false)
		c.body.err = io.EOF
		r.Body, r.ContentLength = http.NoBody, 0
	}
}

// setRequestDeadlines bounds the body read by ReadTimeout and the response
// by WriteTimeout. A request without a body keeps the header deadline: no
// read happens until the next request, which sets its own.
func (c *conn) setRequestDeadlines() {
	s := c.srv
	if c.body.err == nil {
		if s.ReadTimeout > 0 {
			c.setReadDeadline(time.Now().Add(s.ReadTimeout))
		} else if c.readDeadlineSet {
			c.setReadDeadline(time.Time{})
		}
	}
	if s.WriteTimeout > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
	} else if c.deadlinesTouched {
		c.nc.SetWriteDeadline(time.Time{})
		c.deadlinesTouched = false
	}
}

func appendInt(b []byte, n int) []byte {
	if n == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	for ; n > 0; n /= 10 {
		i--
		tmp[i] = byte('0' + n%10)
	}
	return append(b, tmp[i:]...)
}
