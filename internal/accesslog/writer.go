package accesslog

import (
	"errors"
	"io"
	"time"
)

// writerState belongs to the writer goroutine alone, so none of it needs a lock.
type writerState struct {
	open    func() (io.WriteCloser, error)
	out     io.WriteCloser
	clk     clock
	last    time.Time // when the front buffer was last written out
	scratch []*buffer // reused by writeOut
}

// run is the writer goroutine. It polls on a short tick instead of blocking on a channel per
// line: Log only kicks it when it hands over a buffer (every 64 KB or BufferLines/2 lines),
// so the request path rarely wakes a parked goroutine. On each wakeup it writes the buffers
// handed over; on a tick it also takes the front buffer if the last time it did is
// FlushInterval ago: at low rates each line goes out at the next poll, under load there are
// few partial writes a second, and no line waits longer than about FlushInterval plus one poll.
func (l *Logger) run(tick <-chan time.Time) {
	defer close(l.stopped)
	for {
		all := false
		select {
		case <-tick:
			all = l.w.clk.now().Sub(l.w.last) >= l.cfg.FlushInterval
		case <-l.kick:
		case reply := <-l.reopen:
			err := l.writeOut(true) // lines logged before Reopen belong to the old file
			reply <- errors.Join(err, l.reopenFile())
			continue
		case <-l.closing:
			l.closeErr = l.finish()
			return
		}
		l.writeOut(all)
	}
}

// writeOut writes the buffers handed over, and the front buffer too when all is true. It
// reports the first write error.
func (l *Logger) writeOut(all bool) error {
	bufs := l.takeFull(l.w.scratch[:0], all)
	if len(bufs) == 0 {
		return nil
	}
	if all {
		l.w.last = l.w.clk.now()
	}
	var first error
	for _, b := range bufs {
		if err := l.write(b.b); err != nil && first == nil {
			first = err
		}
	}
	l.recycle(bufs)
	clear(bufs)
	l.w.scratch = bufs[:0]
	return first
}

// write writes one batch of whole lines. A failed write (a full disk) loses that batch and is
// counted; the next batch is tried afresh, so logging resumes once space comes back.
func (l *Logger) write(p []byte) error {
	if _, err := l.w.out.Write(p); err != nil {
		l.writeErrors.Add(1)
		return err
	}
	return nil
}

// reopenFile opens the new file before closing the old one, so a failure loses nothing.
func (l *Logger) reopenFile() error {
	if l.cfg.stdout() {
		return nil
	}
	out, err := l.w.open()
	if err != nil {
		return err
	}
	closeErr := l.w.out.Close()
	l.w.out = out
	return closeErr
}

// finish writes every waiting line and closes the output. It retires the front buffer in
// the same critical section that takes it, so a Log racing with Close finds none and its line
// is dropped and counted.
func (l *Logger) finish() error {
	l.mu.Lock()
	bufs := append(l.w.scratch[:0], l.full...)
	if l.front != nil && len(l.front.b) > 0 {
		bufs = append(bufs, l.front)
	}
	l.front, l.full, l.pending, l.pendB = nil, nil, 0, 0
	l.mu.Unlock()
	var writeErr error
	for _, b := range bufs {
		if err := l.write(b.b); err != nil && writeErr == nil {
			writeErr = err
		}
	}
	return errors.Join(writeErr, l.w.out.Close())
}
