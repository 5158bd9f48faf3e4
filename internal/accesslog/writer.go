package accesslog

import (
	"bufio"
	"errors"
	"io"
	"time"
)

// writerState belongs to the writer goroutine alone, so none of it needs a lock.
type writerState struct {
	open func() (io.WriteCloser, error)
	out  io.WriteCloser
	bw   *bufio.Writer
	clk  clock
	last time.Time // last flush
}

// run is the writer goroutine. It polls the queue on a short tick instead of blocking on it:
// a send that finds a parked receiver wakes it, which can cost the request path a futex
// syscall, while a send into a buffered channel nobody waits on is a short critical section.
// Log kicks the writer when the queue is half full, so a burst is not left to the tick. After
// writing what is queued, it flushes if the last flush is FlushInterval old: at low rates each
// line goes out at the next poll, under load there are few flushes a second (plus one per 64
// KB), and no line waits longer than about FlushInterval plus one poll.
func (l *Logger) run(tick <-chan time.Time) {
	defer close(l.stopped)
	for {
		select {
		case <-tick:
		case <-l.kick:
		case reply := <-l.reopen:
			l.writeReady() // lines logged before Reopen belong to the old file
			reply <- l.reopenFile()
			continue
		case <-l.closing:
			l.closeErr = l.finish()
			return
		}
		l.writeReady()
		if l.w.bw.Buffered() > 0 && l.w.clk.now().Sub(l.w.last) >= l.cfg.FlushInterval {
			l.flush()
		}
	}
}

// writeReady writes lines already queued, at most one queue's worth so that ticks, reopen and
// close are still served under a constant stream.
func (l *Logger) writeReady() {
	for range cap(l.queue) {
		select {
		case ln := <-l.queue:
			l.write(ln)
		default:
			return
		}
	}
}

func (l *Logger) write(ln *line) {
	if _, err := l.w.bw.Write(ln.b); err != nil {
		l.writeFailed()
	}
	l.put(ln)
}

func (l *Logger) flush() error {
	l.w.last = l.w.clk.now()
	if err := l.w.bw.Flush(); err != nil {
		l.writeFailed()
		return err
	}
	return nil
}

// writeFailed counts a failed write and clears bufio's sticky error, dropping what it held,
// so that one full disk does not silence the log after space comes back.
func (l *Logger) writeFailed() {
	l.writeErrors.Add(1)
	l.w.bw.Reset(l.w.out)
}

// reopenFile opens the new file before closing the old one, so a failure loses nothing.
func (l *Logger) reopenFile() error {
	if l.cfg.stdout() {
		return l.flush()
	}
	out, err := l.w.open()
	if err != nil {
		return err
	}
	flushErr := l.flush()
	closeErr := l.w.out.Close()
	l.w.out = out
	l.w.bw.Reset(out)
	return errors.Join(flushErr, closeErr)
}

// finish drains the queue, flushes and closes the output.
func (l *Logger) finish() error {
	for {
		select {
		case ln := <-l.queue:
			l.write(ln)
		default:
			return errors.Join(l.flush(), l.w.out.Close())
		}
	}
}
