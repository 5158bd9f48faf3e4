package accesslog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixcdn/pixcdn/internal/metrics"
)

// ErrClosed is returned by Reopen after Close.
var ErrClosed = errors.New("accesslog: logger closed")

// Logger writes access log lines. Log may be called from any number of goroutines; Reopen and
// Close may be called concurrently with Log and with each other.
//
// It is built the way nginx buffers its access log: Log formats the line straight into a
// shared buffer under a short mutex, with no per-line object and no channel operation. When
// that buffer holds writeBufferSize bytes or half of BufferLines lines it is handed to the
// writer goroutine and a free buffer takes its place; the writer writes whole buffers with
// one write call each. Lines not yet handed to the writer's output are bounded by
// BufferLines (and pendingBytesLimit): past that, lines are dropped and counted, so a slow
// disk never delays a response.
type Logger struct {
	cfg      Config
	json     bool
	handoff  int // lines in the front buffer that make Log hand it to the writer
	maxBytes int // pending bytes past which lines are dropped

	mu      sync.Mutex
	front   *buffer   // where Log appends; nil only after Close
	full    []*buffer // handed to the writer, oldest first
	free    []*buffer // written buffers for reuse
	pending int       // lines in front and full
	pendB   int       // bytes in front and full
	times   timeCache // formatting state, guarded by mu like the buffer it formats into

	dropped, writeErrors atomic.Int64
	closed               atomic.Bool

	kick      chan struct{} // capacity 1: Log's nudge when it hands a buffer over
	reopen    chan chan error
	closing   chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error // set by the writer before stopped is closed

	w writerState // owned by the writer goroutine
}

// buffer is a batch of whole lines, written with one call.
type buffer struct {
	b     []byte
	lines int
}

// maxFreeBuffers keeps a burst that allocated many buffers from pinning them all, while
// keeping enough (1.25 MB) that a writer a few buffers behind does not make Log allocate.
const maxFreeBuffers = 16

// clock is what the writer needs of time, injected so tests decide when flushes happen.
type clock struct {
	now  func() time.Time
	tick <-chan time.Time // the writer's poll; nil: a real ticker at pollInterval
}

// pollInterval is how often the writer looks for full buffers and for a front buffer older
// than FlushInterval; Log kicks it besides whenever it hands a buffer over.
const pollInterval = 10 * time.Millisecond

// Open starts a logger writing to cfg.Path (appending, created 0644) or stdout.
func Open(cfg Config) (*Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	open := func() (io.WriteCloser, error) { return stdout{}, nil }
	if !cfg.stdout() {
		open = func() (io.WriteCloser, error) {
			f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return nil, fmt.Errorf("accesslog: %w", err)
			}
			return f, nil
		}
	}
	return newLogger(cfg, open, clock{now: time.Now})
}

// stdout is never closed by the logger: the process owns it.
type stdout struct{}

func (stdout) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdout) Close() error                { return nil }

// newLogger starts the writer on what open returns; tests pass their own writers and clock.
func newLogger(cfg Config, open func() (io.WriteCloser, error), clk clock) (*Logger, error) {
	out, err := open()
	if err != nil {
		return nil, err
	}
	l := &Logger{
		cfg:      cfg,
		json:     cfg.Format == FormatJSON,
		handoff:  max(cfg.BufferLines/2, 1),
		maxBytes: max(cfg.BufferLines*pendingBytesPerLine, 4*writeBufferSize),
		front:    newBuffer(),
		kick:     make(chan struct{}, 1),
		reopen:   make(chan chan error),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	l.w = writerState{open: open, out: out, clk: clk, last: clk.now()}
	tick, stop := clk.tick, func() {}
	if tick == nil {
		t := time.NewTicker(min(pollInterval, cfg.FlushInterval))
		tick, stop = t.C, t.Stop
	}
	go func() {
		defer stop()
		l.run(tick)
	}()
	return l, nil
}

// pendingBytesPerLine bounds the memory of waiting lines with the line bound: BufferLines
// lines of 1 KiB on average (a typical line is 300-400 bytes).
const pendingBytesPerLine = 1 << 10

func newBuffer() *buffer { return &buffer{b: make([]byte, 0, writeBufferSize+writeBufferSize/4)} }

// Log formats ri into the shared buffer. It never blocks on I/O: when BufferLines lines are
// already waiting for the writer, or the logger is closed, the line is dropped and counted.
// It does not keep ri. A Log racing with Close is either written or dropped and counted: Close
// takes the last buffer and retires it under the same lock.
func (l *Logger) Log(ri *metrics.RequestInfo) {
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	l.mu.Lock()
	f := l.front
	if f == nil || l.pending >= l.cfg.BufferLines || l.pendB >= l.maxBytes {
		l.mu.Unlock()
		l.dropped.Add(1)
		return
	}
	n := len(f.b)
	if l.json {
		f.b = l.times.appendJSON(f.b, ri)
	} else {
		f.b = l.times.appendCombined(f.b, ri)
	}
	f.lines++
	l.pending++
	l.pendB += len(f.b) - n
	kick := false
	if f.lines >= l.handoff || len(f.b) >= writeBufferSize {
		kick = l.handOverLocked()
	}
	l.mu.Unlock()
	if kick {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// handOverLocked moves the front buffer to the writer's list and puts a free (or new) one in
// its place. It reports whether the writer should be kicked: only when the list was empty,
// since otherwise a kick is already on its way.
func (l *Logger) handOverLocked() bool {
	if len(l.front.b) == 0 {
		return false
	}
	l.full = append(l.full, l.front)
	if n := len(l.free); n > 0 {
		l.front, l.free = l.free[n-1], l.free[:n-1]
	} else {
		l.front = newBuffer()
	}
	return len(l.full) == 1
}

// takeFull returns the buffers handed to the writer, and the front buffer too when all is
// true and it holds anything; their lines no longer count as pending.
func (l *Logger) takeFull(into []*buffer, all bool) []*buffer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if all && l.front != nil {
		l.handOverLocked()
	}
	into = append(into, l.full...)
	clear(l.full)
	l.full = l.full[:0]
	for _, b := range into {
		l.pending -= b.lines
		l.pendB -= len(b.b)
	}
	return into
}

// recycle returns written buffers for reuse, keeping a few and none that a huge line grew.
func (l *Logger) recycle(bufs []*buffer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range bufs {
		if len(l.free) < maxFreeBuffers && cap(b.b) <= 2*writeBufferSize {
			b.b, b.lines = b.b[:0], 0
			l.free = append(l.free, b)
		}
	}
}

// Reopen writes out every line logged before it and closes the current file, then opens
// cfg.Path again, so that after logrotate renames the file, lines go to a new one (wire it to
// SIGUSR1). If the new file cannot be opened, logging continues to the old one and the error
// says why. For stdout it only writes out.
func (l *Logger) Reopen() error {
	reply := make(chan error, 1)
	select {
	case l.reopen <- reply:
		return <-reply
	case <-l.stopped:
		return ErrClosed
	}
}

// Close stops accepting lines, writes every waiting line and closes the file. Later calls
// return the first call's result.
func (l *Logger) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.closing)
	})
	<-l.stopped
	return l.closeErr
}

// Dropped returns how many lines were dropped because the writer was behind or closed.
func (l *Logger) Dropped() int64 { return l.dropped.Load() }

// Stats reports drops and write errors, for metrics.Metrics.SetAccessLogStats.
func (l *Logger) Stats() metrics.AccessLogStats {
	return metrics.AccessLogStats{Dropped: l.dropped.Load(), WriteErrors: l.writeErrors.Load()}
}
