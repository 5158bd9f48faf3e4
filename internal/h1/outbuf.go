package h1

import (
	"net"
	"sync"
)

// writeBufferSize holds a response header plus a 20 KB body with room to
// spare, so a typical cached object leaves in one write syscall.
const writeBufferSize = 64 << 10

var writeBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// outbuf is the connection's write buffer. Unlike bufio.Writer it can drop
// the unsent tail of the current response (after a handler panic) without
// losing earlier pipelined responses, and it can hand a large body to the
// kernel together with the buffered header in one writev.
type outbuf struct {
	nc   net.Conn
	buf  []byte
	pool *[]byte // owner of buf while acquired; nil while idle
	mark int     // start of the current response in buf, or 0 once flushed
	err  error   // sticky write error
	vec  [2][]byte
}

func (o *outbuf) acquire() {
	if o.pool == nil {
		o.pool = writeBuffers.Get().(*[]byte)
		o.buf = (*o.pool)[:0]
	}
}

// release returns the buffer to the pool while the connection is idle, so
// idle keep-alive connections hold no write buffer.
func (o *outbuf) release() {
	if o.pool != nil && len(o.buf) == 0 {
		*o.pool = o.buf[:0]
		writeBuffers.Put(o.pool)
		o.pool, o.buf = nil, nil
	}
}

func (o *outbuf) flush() error {
	if len(o.buf) > 0 && o.err == nil {
		_, o.err = o.nc.Write(o.buf)
	}
	o.buf, o.mark = o.buf[:0], 0
	return o.err
}

func (o *outbuf) writeString(s string) {
	if len(o.buf)+len(s) > cap(o.buf) {
		o.flush()
		if len(s) > cap(o.buf) {
			o.writeDirect([]byte(s))
			return
		}
	}
	o.buf = append(o.buf, s...)
}

func (o *outbuf) write(p []byte) {
	if len(o.buf)+len(p) <= cap(o.buf) {
		o.buf = append(o.buf, p...)
		return
	}
	o.writeDirect(p)
}

// writeDirect sends what is buffered and p in one writev.
func (o *outbuf) writeDirect(p []byte) {
	if o.err == nil {
		o.vec[0], o.vec[1] = o.buf, p
		bufs := net.Buffers(o.vec[:])
		_, o.err = bufs.WriteTo(o.nc)
		o.vec[0], o.vec[1] = nil, nil
	}
	o.buf, o.mark = o.buf[:0], 0
}

// startResponse remembers where the current response begins.
func (o *outbuf) startResponse() { o.mark = len(o.buf) }

// dropResponse forgets the part of the current response not yet sent.
func (o *outbuf) dropResponse() { o.buf = o.buf[:o.mark] }
