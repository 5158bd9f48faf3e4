package h1

import (
	"bufio"
	"errors"
	"io"
	"net/http"
)

var (
	errChunkLine    = errors.New("h1: malformed chunk size line")
	errChunkSize    = errors.New("h1: chunk size overflows")
	errChunkData    = errors.New("h1: chunk data not followed by CRLF")
	errTrailerLarge = errors.New("h1: request trailer too large")
)

// maxChunkSize bounds one chunk; larger sizes are treated as an attack on
// the size arithmetic, not as a body to stream.
const maxChunkSize = 1 << 40

// body reads one request's body from the connection's reader. It is reused
// across the requests of a connection; see the package doc.
type body struct {
	c          *conn
	br         *bufio.Reader
	remaining  int64 // fixed: bytes left; chunked: bytes left in this chunk
	chunked    bool
	needCRLF   bool  // chunked: the CRLF after the current chunk is unread
	err        error // sticky: io.EOF at the end, or the failure
	closed     bool
	expect     bool // a 100-continue is owed before the first read
	maxTrailer int
}

var _ io.ReadCloser = (*body)(nil)

func (b *body) reset(c *conn, length int64, chunked, expect bool) {
	*b = body{c: c, br: c.br, remaining: length, chunked: chunked, expect: expect,
		maxTrailer: c.srv.maxHeaderBytes()}
}

// Read sends the 100 Continue the client waits for, if one is owed, then
// reads the body.
func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.expect {
		b.expect = false
		b.c.writeContinue()
	}
	return b.read(p)
}

// Close stops the handler's reads; the server still drains what is left.
func (b *body) Close() error {
	b.closed = true
	return nil
}

func (b *body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		n, err = b.readFixed(p)
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *body) readFixed(p []byte) (int, error) {
	if b.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.br.Read(p)
	b.remaining -= int64(n)
	switch {
	case b.remaining == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *body) readChunked(p []byte) (int, error) {
	for b.remaining == 0 {
		if err := b.nextChunk(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.br.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// nextChunk consumes the CRLF ending the previous chunk and the next
// chunk-size line; at the last chunk it skips the trailer section and
// returns io.EOF.
func (b *body) nextChunk() error {
	if b.needCRLF {
		crlf, err := b.br.Peek(2)
		if err != nil {
			return unexpected(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return errChunkData
		}
		b.br.Discard(2)
		b.needCRLF = false
	}
	line, err := b.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return errChunkLine
		}
		return unexpected(err)
	}
	size, err := parseChunkLine(line)
	if err != nil {
		return err
	}
	if size == 0 {
		if err := b.skipTrailers(); err != nil {
			return err
		}
		return io.EOF
	}
	b.remaining, b.needCRLF = size, true
	return nil
}

// parseChunkLine parses chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1).
// Extensions are ignored but may not hold control characters.
func parseChunkLine(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, errChunkLine
	}
	line = line[:len(line)-2]
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		if size >= maxChunkSize>>4 {
			return 0, errChunkSize
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, errChunkLine
	}
	for ; i < len(line) && (line[i] == ' ' || line[i] == '\t'); i++ {
	}
	if i < len(line) && line[i] != ';' {
		return 0, errChunkLine
	}
	for ; i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return 0, errChunkLine
		}
	}
	return size, nil
}

func (b *body) skipTrailers() error {
	total := 0
	for {
		line, err := b.br.ReadSlice('\n')
		total += len(line)
		if total > b.maxTrailer {
			return errTrailerLarge
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return unexpected(err)
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return errChunkLine
		}
		if len(line) == 2 {
			return nil
		}
	}
}

// drain discards what the handler left unread, up to limit bytes, and
// reports whether the connection is positioned at the next request.
func (b *body) drain(limit int64) bool {
	if b.err != nil || b.expect {
		return b.err == io.EOF
	}
	if !b.chunked && b.remaining > limit {
		return false
	}
	var buf [2048]byte
	for total := int64(0); total <= limit; {
		n, err := b.read(buf[:])
		total += int64(n)
		if err != nil {
			return err == io.EOF
		}
	}
	return false
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
