package h1

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxPostHandlerReadBytes is how much unread request body the server reads
// and discards to keep a connection alive (net/http uses the same figure).
const maxPostHandlerReadBytes = 256 << 10

// response is the http.ResponseWriter of one request. It is reused across
// the requests of a connection; see the package doc.
type response struct {
	c        *conn
	req      *http.Request
	header   http.Header
	status   int  // the final status, once WriteHeader or Write chose it
	commited bool // status line and header are in the write buffer
	done     bool // the handler returned; later calls are ignored

	bodyAllowed   bool
	isHead        bool
	chunked       bool
	contentLength int64 // declared by the handler, or -1
	written       int64
	closeAfter    bool // close the connection after this response
	fullDuplex    bool
	fields        []byte // AddFields' block, sent after the map's fields
	fieldsDate    bool   // the block has a Date
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ io.StringWriter     = (*response)(nil)
	_ io.ReaderFrom       = (*response)(nil)
)

func (w *response) reset(c *conn, r *http.Request, closeAfter bool) {
	h := w.header
	clear(h)
	*w = response{c: c, req: r, header: h, isHead: r.Method == http.MethodHead,
		contentLength: -1, closeAfter: closeAfter}
}

// Header returns the response header map. Changes made after WriteHeader
// take effect until the first Write or Flush, when the header is sent
// (net/http ignores them from WriteHeader on).
func (w *response) Header() http.Header { return w.header }

// WriteHeader records the status. 1xx statuses other than 101 are sent at
// once with the current header; a second final status is ignored.
func (w *response) WriteHeader(code int) {
	if w.done {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("h1: invalid WriteHeader code %v", code))
	}
	if w.status != 0 {
		w.c.srv.logger().Debug("h1: superfluous WriteHeader call",
			"code", code, "previous", w.status, "remote", w.c.remoteAddr)
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInformational(code)
		return
	}
	w.status = code
}

func (w *response) writeInformational(code int) {
	if w.req.ProtoMinor == 0 {
		return // HTTP/1.0 clients do not expect interim responses
	}
	if code == http.StatusContinue {
		w.c.body.expect = false
	}
	w.c.writeStatusLine(code)
	w.writeFields()
	w.c.out.writeString("\r\n")
	w.c.out.flush()
}

// Write sends p as (part of) the body, sending the header first if it has
// not been sent. It follows net/http: writes to a HEAD response are
// swallowed, writes to 1xx/204/304 fail with http.ErrBodyNotAllowed, and a
// write beyond the declared Content-Length fails with http.ErrContentLength
// and writes nothing.
func (w *response) Write(p []byte) (int, error) { return writeBody(w, p, (*outbuf).write) }

// WriteString is Write without the conversion io.WriteString would make.
func (w *response) WriteString(s string) (int, error) {
	return writeBody(w, s, (*outbuf).writeString)
}

// writeBody is Write for either form of the bytes; put copies them into the output buffer.
func writeBody[T ~string | ~[]byte](w *response, p T, put func(*outbuf, T)) (int, error) {
	if err := w.beforeWrite(len(p)); err != nil {
		return 0, err
	}
	if w.isHead {
		return len(p), nil
	}
	if w.chunked {
		if len(p) == 0 {
			return 0, nil
		}
		w.writeChunkHeader(len(p))
		put(&w.c.out, p)
		w.c.out.writeString("\r\n")
	} else {
		put(&w.c.out, p)
	}
	w.written += int64(len(p))
	return len(p), w.c.out.err
}

var errHandlerDone = errors.New("h1: ResponseWriter used after the handler returned")

func (w *response) beforeWrite(n int) error {
	if w.done {
		return errHandlerDone
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.commited {
		w.commit(false)
	}
	if w.c.out.err != nil {
		return w.c.out.err
	}
	if w.isHead {
		return nil
	}
	if !w.bodyAllowed {
		return http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(n) > w.contentLength {
		return http.ErrContentLength
	}
	return nil
}

func (w *response) writeChunkHeader(n int) {
	b := strconv.AppendInt(w.c.scratch[:0], int64(n), 16)
	b = append(b, '\r', '\n')
	w.c.out.write(b)
}

// Flush sends the header (if not yet sent) and everything buffered.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush reporting the write error; http.ResponseController
// prefers it.
func (w *response) FlushError() error {
	if w.done {
		return errHandlerDone
	}
	if !w.commited {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.commit(false)
	}
	return w.c.out.flush()
}

// SetReadDeadline lets http.ResponseController bound the handler's body reads.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.deadlinesTouched = true
	return w.c.nc.SetReadDeadline(t)
}

// SetWriteDeadline lets http.ResponseController extend or shorten WriteTimeout.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.deadlinesTouched = true
	return w.c.nc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the request body after it starts
// writing the response: the server then leaves an unread body alone until
// the handler returns.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// ReadFrom reads src straight into the write buffer's free space, sparing
// io.Copy its 32 KiB buffer and a copy.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if err := w.beforeWrite(0); err != nil {
		return 0, err
	}
	if w.isHead {
		return io.Copy(io.Discard, src)
	}
	var total int64
	for {
		n, err := w.readOnce(src)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// chunkHeadLen is the room readOnce keeps for a chunk-size line: four hex
// digits, zero-padded (RFC 9112 allows leading zeros), and CRLF.
const chunkHeadLen = len("ffff\r\n")

// readOnce does one src.Read into the write buffer, framed as one chunk
// when the response is chunked and clipped to the declared length (one
// byte more is read to notice a src that is too long).
func (w *response) readOnce(src io.Reader) (int, error) {
	o := &w.c.out
	if cap(o.buf)-len(o.buf) < 4096 {
		if err := o.flush(); err != nil {
			return 0, err
		}
	}
	start, end := len(o.buf), cap(o.buf)
	if w.chunked {
		start += chunkHeadLen
		end = min(end-2, start+0xffff)
	}
	if w.contentLength >= 0 {
		end = int(min(int64(end), int64(start)+w.contentLength-w.written+1))
	}
	n, err := src.Read(o.buf[start:end])
	if n <= 0 {
		return 0, err
	}
	if w.contentLength >= 0 && w.written+int64(n) > w.contentLength {
		n, err = int(w.contentLength-w.written), http.ErrContentLength
	}
	if w.chunked && n > 0 {
		h := o.buf[len(o.buf) : len(o.buf)+chunkHeadLen]
		const hexDigits = "0123456789abcdef"
		h[0], h[1], h[2], h[3] = hexDigits[n>>12], hexDigits[n>>8&15], hexDigits[n>>4&15], hexDigits[n&15]
		h[4], h[5] = '\r', '\n'
		o.buf = append(o.buf[:start+n], '\r', '\n')
	} else if n > 0 {
		o.buf = o.buf[:start+n]
	}
	w.written += int64(n)
	return n, err
}

// finish completes the response after the handler returned: header if
// never sent, last chunk, and whether the connection may carry another
// request.
func (w *response) finish() {
	if !w.commited {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		w.commit(true)
	}
	w.done = true
	if w.chunked {
		w.c.out.writeString("0\r\n\r\n")
	}
	if w.bodyAllowed && !w.isHead && w.contentLength >= 0 && w.written < w.contentLength {
		w.closeAfter = true // the client would wait for bytes that never come
	}
	if w.fullDuplex && !w.c.body.drain(maxPostHandlerReadBytes) {
		w.closeAfter = true
	}
}
