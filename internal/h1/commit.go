package h1

import (
	"io"
	"net/http"
	"strconv"
)

// statusLines holds "HTTP/1.1 NNN Reason\r\n" for every code net/http names.
var statusLines = func() (t [600]string) {
	for code := 100; code < len(t); code++ {
		if text := http.StatusText(code); text != "" {
			t[code] = "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return t
}()

func (c *conn) writeStatusLine(code int) {
	if code < len(statusLines) && statusLines[code] != "" {
		c.out.writeString(statusLines[code])
		return
	}
	c.out.writeString("HTTP/1.1 ")
	c.out.write(strconv.AppendInt(c.scratch[:0], int64(code), 10))
	c.out.writeString(" \r\n")
}

// commit writes the status line and header of the final response into the
// write buffer. final says the handler has returned, so a body-less
// response without Content-Length can say "Content-Length: 0" rather than
// use chunking.
func (w *response) commit(final bool) {
	w.commited = true
	w.frame(final)
	w.settleRequestBody()
	if w.c.srv.shutting.Load() {
		w.closeAfter = true
	}
	c := w.c
	c.writeStatusLine(w.status)
	w.writeFields()
	if len(w.fields) > 0 {
		c.out.write(w.fields)
	}
	if _, ok := w.header["Date"]; !ok && !w.fieldsDate {
		c.out.write(c.srv.date.line(c.srv.now()))
	}
	if w.contentLength >= 0 && w.status >= 200 && w.status != http.StatusNoContent {
		c.out.writeString("Content-Length: ")
		c.out.write(strconv.AppendInt(c.scratch[:0], w.contentLength, 10))
		c.out.writeString("\r\n")
	}
	if w.chunked {
		c.out.writeString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter:
		c.out.writeString("Connection: close\r\n\r\n")
	case w.req.ProtoMinor == 0:
		c.out.writeString("Connection: keep-alive\r\n\r\n")
	default:
		c.out.writeString("\r\n")
	}
}

// frame chooses how the body is delimited: the handler's Content-Length,
// else chunked for HTTP/1.1, else the end of the connection.
func (w *response) frame(final bool) {
	if vv := w.header["Content-Length"]; len(vv) > 0 {
		if n, ok := parseDecimal(vv[0]); ok {
			w.contentLength = n
		}
	}
	if hasToken(w.header["Connection"], "close") {
		w.closeAfter = true
	}
	code := w.status
	switch {
	case code == http.StatusSwitchingProtocols:
		w.closeAfter = true // no Hijack: nothing can follow
		return
	case code == http.StatusNoContent || code == http.StatusNotModified:
		return
	}
	w.bodyAllowed = true
	if w.isHead || w.contentLength >= 0 {
		return
	}
	switch {
	case final:
		w.contentLength = 0
	case w.req.ProtoMinor == 1:
		w.chunked = true
	default:
		w.closeAfter = true
	}
}

// settleRequestBody makes sure the request body is consumed before the
// response goes out, as net/http does: clients that send a whole request
// before reading can deadlock otherwise. Bodies too large to drain, or
// never asked for with 100-continue, close the connection instead.
func (w *response) settleRequestBody() {
	b := &w.c.body
	switch {
	case b.err == io.EOF || w.fullDuplex:
	case b.err != nil, b.expect, b.closed:
		w.closeAfter = true
	case !b.drain(maxPostHandlerReadBytes):
		w.closeAfter = true
	}
}

// writeFields writes the handler's header fields, except those framing the
// message (which the server writes itself) and any name or value that is
// not valid, which is dropped: a value with CR or LF would let a handler
// that echoes input split the response.
func (w *response) writeFields() {
	o := &w.c.out
	for k, vv := range w.header {
		if !sendable(k) {
			continue
		}
		for _, v := range vv {
			if !isFieldValue(v) {
				continue
			}
			o.writeString(k)
			o.writeString(": ")
			o.writeString(v)
			o.writeString("\r\n")
		}
	}
}

// writeContinue queues "100 Continue" when the handler first reads a body
// the client offered with Expect; the read that follows flushes it.
func (c *conn) writeContinue() {
	if !c.resp.commited && !c.resp.done {
		c.out.writeString("HTTP/1.1 100 Continue\r\n\r\n")
	}
}
